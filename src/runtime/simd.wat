;; resnetc's SIMD kernels for the wasm backend: the memory-bound loops of a training step (batch
;; norm's sums and affine maps, the layout changes of the convolution gradients) that tfjs's wasm
;; build has no kernel for and that JavaScript runs ~10x slower than 128-bit SIMD.
;; The module imports the backend's own memory ("env" "memory"), so every pointer below is a byte
;; offset into tfjs's heap and no data is copied in or out. scripts/build-simd.mjs assembles it
;; (with wabt) twice: with `shared` memory for the threaded build and without for the other; the
;; bytes live in simd-wasm.ts, and a test checks they match this file.
;; Conventions: x is [rows, c] row-major float32 with c % 4 == 0 (the caller checks; other
;; shapes use the JavaScript loops); per-channel vectors are float32[c]; sums are float64[c] and
;; are added to (the caller zeroes them).
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; Rows per block: a block's partial sums stay in float32 (64 terms), then go into float64.
  ;; out[k] += sum over r of x[r, k]
  (func (export "colsum") (param $x i32) (param $rows i32) (param $c i32) (param $out i32)
    (local $r0 i32) (local $r1 i32) (local $g i32) (local $p i32) (local $r i32) (local $cb i32)
    (local $acc v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $r0) (local.get $rows)))
        (local.set $r1 (call $blockEnd (local.get $r0) (local.get $rows)))
        (local.set $g (i32.const 0))
        (loop $groups
          (local.set $acc (v128.const i32x4 0 0 0 0))
          (local.set $p (i32.add (local.get $x) (i32.add (i32.mul (local.get $r0) (local.get $cb)) (local.get $g))))
          (local.set $r (local.get $r0))
          (loop $each
            (local.set $acc (f32x4.add (local.get $acc) (v128.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $cb)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br_if $each (i32.lt_u (local.get $r) (local.get $r1))))
          (call $addWide (i32.add (local.get $out) (i32.shl (local.get $g) (i32.const 1))) (local.get $acc))
          (local.set $g (i32.add (local.get $g) (i32.const 16)))
          (br_if $groups (i32.lt_u (local.get $g) (local.get $cb))))
        (local.set $r0 (local.get $r1))
        (br $blocks))))

  ;; out[k] += sum over r of (x[r, k] - mean[k])^2
  (func (export "colsumSqDev") (param $x i32) (param $rows i32) (param $c i32) (param $mean i32) (param $out i32)
    (local $r0 i32) (local $r1 i32) (local $g i32) (local $p i32) (local $r i32) (local $cb i32)
    (local $acc v128) (local $m v128) (local $d v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $r0) (local.get $rows)))
        (local.set $r1 (call $blockEnd (local.get $r0) (local.get $rows)))
        (local.set $g (i32.const 0))
        (loop $groups
          (local.set $acc (v128.const i32x4 0 0 0 0))
          (local.set $m (v128.load (i32.add (local.get $mean) (local.get $g))))
          (local.set $p (i32.add (local.get $x) (i32.add (i32.mul (local.get $r0) (local.get $cb)) (local.get $g))))
          (local.set $r (local.get $r0))
          (loop $each
            (local.set $d (f32x4.sub (v128.load (local.get $p)) (local.get $m)))
            (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $d) (local.get $d))))
            (local.set $p (i32.add (local.get $p) (local.get $cb)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br_if $each (i32.lt_u (local.get $r) (local.get $r1))))
          (call $addWide (i32.add (local.get $out) (i32.shl (local.get $g) (i32.const 1))) (local.get $acc))
          (local.set $g (i32.add (local.get $g) (i32.const 16)))
          (br_if $groups (i32.lt_u (local.get $g) (local.get $cb))))
        (local.set $r0 (local.get $r1))
        (br $blocks))))

  ;; outB[k] += sum over r of dy[r, k];  outG[k] += sum over r of dy[r, k] * (x[r, k] - mean[k])
  (func (export "colsumGrad") (param $dy i32) (param $x i32) (param $rows i32) (param $c i32) (param $mean i32) (param $outB i32) (param $outG i32)
    (local $r0 i32) (local $r1 i32) (local $g i32) (local $p i32) (local $q i32) (local $r i32) (local $cb i32)
    (local $accB v128) (local $accG v128) (local $m v128) (local $v v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $r0) (local.get $rows)))
        (local.set $r1 (call $blockEnd (local.get $r0) (local.get $rows)))
        (local.set $g (i32.const 0))
        (loop $groups
          (local.set $accB (v128.const i32x4 0 0 0 0))
          (local.set $accG (v128.const i32x4 0 0 0 0))
          (local.set $m (v128.load (i32.add (local.get $mean) (local.get $g))))
          (local.set $p (i32.add (local.get $dy) (i32.add (i32.mul (local.get $r0) (local.get $cb)) (local.get $g))))
          (local.set $q (i32.add (local.get $x) (i32.add (i32.mul (local.get $r0) (local.get $cb)) (local.get $g))))
          (local.set $r (local.get $r0))
          (loop $each
            (local.set $v (v128.load (local.get $p)))
            (local.set $accB (f32x4.add (local.get $accB) (local.get $v)))
            (local.set $accG (f32x4.add (local.get $accG) (f32x4.mul (local.get $v) (f32x4.sub (v128.load (local.get $q)) (local.get $m)))))
            (local.set $p (i32.add (local.get $p) (local.get $cb)))
            (local.set $q (i32.add (local.get $q) (local.get $cb)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br_if $each (i32.lt_u (local.get $r) (local.get $r1))))
          (call $addWide (i32.add (local.get $outB) (i32.shl (local.get $g) (i32.const 1))) (local.get $accB))
          (call $addWide (i32.add (local.get $outG) (i32.shl (local.get $g) (i32.const 1))) (local.get $accG))
          (local.set $g (i32.add (local.get $g) (i32.const 16)))
          (br_if $groups (i32.lt_u (local.get $g) (local.get $cb))))
        (local.set $r0 (local.get $r1))
        (br $blocks))))

  ;; y[r, k] = x[r, k] * s[k] + t[k]
  (func (export "affine") (param $x i32) (param $y i32) (param $rows i32) (param $c i32) (param $s i32) (param $t i32)
    (local $end i32) (local $g i32) (local $cb i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $rows) (local.get $cb))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $g (i32.const 0))
        (loop $groups
          (v128.store (i32.add (local.get $y) (local.get $g))
            (f32x4.add
              (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $g))) (v128.load (i32.add (local.get $s) (local.get $g))))
              (v128.load (i32.add (local.get $t) (local.get $g)))))
          (local.set $g (i32.add (local.get $g) (i32.const 16)))
          (br_if $groups (i32.lt_u (local.get $g) (local.get $cb))))
        (local.set $x (i32.add (local.get $x) (local.get $cb)))
        (local.set $y (i32.add (local.get $y) (local.get $cb)))
        (br $each))))

  ;; out[r, k] = a[k] * u[r, k] + b[k] * v[r, k] + d[k]
  (func (export "affine2") (param $u i32) (param $v i32) (param $out i32) (param $rows i32) (param $c i32) (param $a i32) (param $b i32) (param $d i32)
    (local $end i32) (local $g i32) (local $cb i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $u) (i32.mul (local.get $rows) (local.get $cb))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $u) (local.get $end)))
        (local.set $g (i32.const 0))
        (loop $groups
          (v128.store (i32.add (local.get $out) (local.get $g))
            (f32x4.add
              (f32x4.add
                (f32x4.mul (v128.load (i32.add (local.get $u) (local.get $g))) (v128.load (i32.add (local.get $a) (local.get $g))))
                (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $g))) (v128.load (i32.add (local.get $b) (local.get $g)))))
              (v128.load (i32.add (local.get $d) (local.get $g)))))
          (local.set $g (i32.add (local.get $g) (i32.const 16)))
          (br_if $groups (i32.lt_u (local.get $g) (local.get $cb))))
        (local.set $u (i32.add (local.get $u) (local.get $cb)))
        (local.set $v (i32.add (local.get $v) (local.get $cb)))
        (local.set $out (i32.add (local.get $out) (local.get $cb)))
        (br $each))))

  ;; Stride-phase planes of a padded NHWC image, for the filter gradient (wasm-kernels.ts):
  ;; out[ph, pw, k, m, i, j] = x[m, i*sh + ph - top, j*sw + pw - left, k] for m < n, k < c, inside
  ;; the image; 0 elsewhere (the image m = n, the channel k = c, the margins). out is
  ;; [sh, sw, c + 1, n + 1, hq, wq]; any c.
  (func (export "phasePlanes") (param $x i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32)
    (param $sh i32) (param $sw i32) (param $top i32) (param $left i32) (param $hq i32) (param $wq i32) (param $out i32)
    (local $grid i32) (local $plane i32) (local $m i32) (local $ih i32) (local $iw i32) (local $i i32) (local $j i32)
    (local $rowBase i32) (local $dst i32) (local $src i32) (local $k i32) (local $gb i32)
    (local.set $grid (i32.mul (i32.add (local.get $n) (i32.const 1)) (i32.mul (local.get $hq) (local.get $wq))))
    (local.set $gb (i32.shl (local.get $grid) (i32.const 2)))
    (local.set $plane (i32.mul (local.get $gb) (i32.add (local.get $c) (i32.const 1))))
    (memory.fill (local.get $out) (i32.const 0) (i32.mul (local.get $plane) (i32.mul (local.get $sh) (local.get $sw))))
    (local.set $src (local.get $x))
    (local.set $m (i32.const 0))
    (block $mdone (loop $images
      (br_if $mdone (i32.ge_u (local.get $m) (local.get $n)))
      (local.set $ih (i32.const 0))
      (block $hdone (loop $rowsl
        (br_if $hdone (i32.ge_u (local.get $ih) (local.get $h)))
        (local.set $i (i32.div_u (i32.add (local.get $ih) (local.get $top)) (local.get $sh)))
        (if (i32.lt_u (local.get $i) (local.get $hq))
          (then
            ;; plane offset of this row's phase, plus the grid row
            (local.set $rowBase (i32.add
              (i32.mul (i32.mul (i32.rem_u (i32.add (local.get $ih) (local.get $top)) (local.get $sh)) (local.get $sw)) (local.get $plane))
              (i32.shl (i32.mul (i32.add (i32.mul (local.get $m) (local.get $hq)) (local.get $i)) (local.get $wq)) (i32.const 2))))
            (local.set $iw (i32.const 0))
            (block $wdone (loop $cols
              (br_if $wdone (i32.ge_u (local.get $iw) (local.get $w)))
              (local.set $j (i32.div_u (i32.add (local.get $iw) (local.get $left)) (local.get $sw)))
              (if (i32.lt_u (local.get $j) (local.get $wq))
                (then
                  (local.set $dst (i32.add (local.get $out) (i32.add (local.get $rowBase)
                    (i32.add (i32.mul (i32.rem_u (i32.add (local.get $iw) (local.get $left)) (local.get $sw)) (local.get $plane)) (i32.shl (local.get $j) (i32.const 2))))))
                  (local.set $k (i32.const 0))
                  (loop $chans
                    (f32.store (local.get $dst) (f32.load (i32.add (local.get $src) (i32.shl (local.get $k) (i32.const 2)))))
                    (local.set $dst (i32.add (local.get $dst) (local.get $gb)))
                    (local.set $k (i32.add (local.get $k) (i32.const 1)))
                    (br_if $chans (i32.lt_u (local.get $k) (local.get $c))))))
              (local.set $src (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 2))))
              (local.set $iw (i32.add (local.get $iw) (i32.const 1)))
              (br $cols))))
          (else (local.set $src (i32.add (local.get $src) (i32.shl (i32.mul (local.get $w) (local.get $c)) (i32.const 2))))))
        (local.set $ih (i32.add (local.get $ih) (i32.const 1)))
        (br $rowsl)))
      (local.set $m (i32.add (local.get $m) (i32.const 1)))
      (br $images))))

  ;; dy [n, ho, wo, c] placed on an (n + 1) x hq x wq grid at its top-left, zeros elsewhere.
  (func (export "gridPad") (param $x i32) (param $n i32) (param $ho i32) (param $wo i32) (param $c i32) (param $hq i32) (param $wq i32) (param $out i32)
    (local $row i32) (local $rows i32) (local $rb i32) (local $qb i32)
    (local.set $rb (i32.shl (i32.mul (local.get $wo) (local.get $c)) (i32.const 2)))
    (local.set $qb (i32.shl (i32.mul (local.get $wq) (local.get $c)) (i32.const 2)))
    (memory.fill (local.get $out) (i32.const 0) (i32.mul (local.get $qb) (i32.mul (i32.add (local.get $n) (i32.const 1)) (local.get $hq))))
    (local.set $rows (i32.mul (local.get $n) (local.get $ho)))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $row) (local.get $rows)))
      ;; grid row of (image, row) = image * hq + row
      (memory.copy
        (i32.add (local.get $out) (i32.mul (local.get $qb)
          (i32.add (i32.mul (i32.div_u (local.get $row) (local.get $ho)) (local.get $hq)) (i32.rem_u (local.get $row) (local.get $ho)))))
        (local.get $x) (local.get $rb))
      (local.set $x (i32.add (local.get $x) (local.get $rb)))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br $each))))

  (func $blockEnd (param $r0 i32) (param $rows i32) (result i32)
    (select (i32.add (local.get $r0) (i32.const 64)) (local.get $rows)
      (i32.lt_u (i32.add (local.get $r0) (i32.const 64)) (local.get $rows))))

  ;; out[0..3] (float64) += acc (float32x4)
  (func $addWide (param $out i32) (param $acc v128)
    (v128.store (local.get $out) (f64x2.add (v128.load (local.get $out)) (f64x2.promote_low_f32x4 (local.get $acc))))
    (v128.store offset=16 (local.get $out)
      (f64x2.add (v128.load offset=16 (local.get $out))
        (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $acc) (local.get $acc))))))
)
