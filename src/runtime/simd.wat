;; resnetc's SIMD kernels for the wasm backend: the loops of a training step that tfjs's wasm
;; build has no kernel for, and that JavaScript runs ~10x slower than 128-bit SIMD: batch norm's
;; sums and affine maps, ReLU's gradient, and the convolution filter gradient (its stride-phase
;; layout and its own cache-blocked product) and strided input gradient (putting phases back).
;; The module imports the backend's own memory ("env" "memory"), so every pointer below is a byte
;; offset into tfjs's heap and no data is copied in or out. scripts/build-simd.js (`npm run simd`)
;; assembles it with wabt twice: importing a `shared` memory (tfjs's threaded build) and a plain
;; one; the bytes live in simd-wasm.ts, and test/simd.test.ts checks they match this file.
;; Conventions: x is [rows, c] row-major float32 with c % 4 == 0 (the caller checks; other
;; shapes use the JavaScript loops); per-channel vectors are float32[c]; sums are float64[c] and
;; are added to (the caller zeroes them). simd.ts loads it; its callers say what they pass.
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

;; ReLU's gradient: out[i] = x[i] > 0 ? dy[i] : 0 for i < 4*n4 (relu-grad.ts does the rest).
  (func (export "reluGrad") (param $dy i32) (param $x i32) (param $out i32) (param $n4 i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n4) (i32.const 4))))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (v128.store (local.get $out)
        (v128.and (v128.load (local.get $dy)) (f32x4.gt (v128.load (local.get $x)) (v128.const i32x4 0 0 0 0))))
      (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (br $each))))

;; Gathers runs: dst gets count runs of `run` bytes, one after another, the i-th from src +
  ;; from[i] (int32 byte offsets; wasm-kernels.ts's Slice).
  (func (export "gatherRuns") (param $src i32) (param $from i32) (param $count i32) (param $run i32) (param $dst i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $from) (i32.shl (local.get $count) (i32.const 2))))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $from) (local.get $end)))
      (memory.copy (local.get $dst) (i32.add (local.get $src) (i32.load (local.get $from))) (local.get $run))
      (local.set $dst (i32.add (local.get $dst) (local.get $run)))
      (local.set $from (i32.add (local.get $from) (i32.const 4)))
      (br $each))))

  ;; Stride-phase grids of a padded NHWC image, for the filter gradient (wasm-kernels.ts):
  ;; out[ph, pw, m, i, j, k] = x[m, i*sh + ph - top, j*sw + pw - left, k] for k < c inside the
  ;; image, 0 elsewhere (the margins, and channels c..cp-1). out is [sh, sw, n, hq, wq, cp].
  (func (export "phaseGrid") (param $x i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32)
    (param $sh i32) (param $sw i32) (param $top i32) (param $left i32) (param $hq i32) (param $wq i32) (param $cp i32) (param $out i32)
    (local $plane i32) (local $m i32) (local $ih i32) (local $iw i32) (local $i i32) (local $j i32)
    (local $rowBase i32) (local $src i32) (local $pix i32) (local $cpb i32)
    (local.set $cpb (i32.shl (local.get $cp) (i32.const 2)))
    (local.set $pix (i32.shl (local.get $c) (i32.const 2)))
    (local.set $plane (i32.mul (local.get $cpb) (i32.mul (local.get $n) (i32.mul (local.get $hq) (local.get $wq)))))
    (memory.fill (local.get $out) (i32.const 0) (i32.mul (local.get $plane) (i32.mul (local.get $sh) (local.get $sw))))
    (local.set $src (local.get $x))
    (block $mdone (loop $images
      (br_if $mdone (i32.ge_u (local.get $m) (local.get $n)))
      (local.set $ih (i32.const 0))
      (block $hdone (loop $rowsl
        (br_if $hdone (i32.ge_u (local.get $ih) (local.get $h)))
        (local.set $i (i32.div_u (i32.add (local.get $ih) (local.get $top)) (local.get $sh)))
        (if (i32.lt_u (local.get $i) (local.get $hq))
          (then
            ;; this row's phase plane, plus the grid row
            (local.set $rowBase (i32.add (local.get $out) (i32.add
              (i32.mul (i32.mul (i32.rem_u (i32.add (local.get $ih) (local.get $top)) (local.get $sh)) (local.get $sw)) (local.get $plane))
              (i32.mul (i32.mul (i32.add (i32.mul (local.get $m) (local.get $hq)) (local.get $i)) (local.get $wq)) (local.get $cpb)))))
            (local.set $iw (i32.const 0))
            (block $wdone (loop $cols
              (br_if $wdone (i32.ge_u (local.get $iw) (local.get $w)))
              (local.set $j (i32.div_u (i32.add (local.get $iw) (local.get $left)) (local.get $sw)))
              (if (i32.lt_u (local.get $j) (local.get $wq))
                (then
                  (memory.copy
                    (i32.add (local.get $rowBase) (i32.add
                      (i32.mul (i32.rem_u (i32.add (local.get $iw) (local.get $left)) (local.get $sw)) (local.get $plane))
                      (i32.mul (local.get $j) (local.get $cpb))))
                    (local.get $src) (local.get $pix))))
              (local.set $src (i32.add (local.get $src) (local.get $pix)))
              (local.set $iw (i32.add (local.get $iw) (i32.const 1)))
              (br $cols))))
          (else (local.set $src (i32.add (local.get $src) (i32.mul (local.get $w) (local.get $pix))))))
        (local.set $ih (i32.add (local.get $ih) (i32.const 1)))
        (br $rowsl)))
      (local.set $m (i32.add (local.get $m) (i32.const 1)))
      (br $images))))

  ;; The filter gradient's products, tap by tap (wasm-kernels.ts):
  ;;   out[t, o, k] += sum over rows r = (m, oh) and ow < wo of
  ;;                   xg[tapOff[t] + ((m*hq + oh)*wq + ow)*cp + k] * dy[(r*wo + ow)*co + o]
  ;; where rowOff[r] (int32) is the byte offset ((m*hq + oh)*wq)*cp*4 of row r's grid row.
  ;; xg is phaseGrid's output (cp % 8 == 0), tapOff[t] (int32, in elements) the start of tap t's
  ;; phase plane plus its shift, dy is [rows, wo, co] (co % 4 == 0), out is [taps, co, cp]. Only
  ;; the outputs o in [o0, o1) (multiples of 4), so that threads can share the work.
  ;; Register tiles of 8 k x 4 o over blocks of rb rows: x and dy stay in cache while every tap
  ;; and tile passes over them (one long product per tap would stream them from memory).
  (func (export "dwGemm") (param $xg i32) (param $dy i32) (param $out i32) (param $rows i32) (param $rowOff i32)
    (param $wo i32) (param $cp i32) (param $co i32) (param $taps i32) (param $tapOff i32)
    (param $rb i32) (param $o0 i32) (param $o1 i32)
    (local $r0 i32) (local $r1 i32) (local $t i32) (local $k i32) (local $o i32) (local $r i32)
    (local $xt i32) (local $xp i32) (local $dp i32) (local $acc i32) (local $end i32) (local $cpb i32) (local $cob i32) (local $dyRow i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local $xa v128) (local $xb v128) (local $d v128)
    (local.set $cpb (i32.shl (local.get $cp) (i32.const 2)))
    (local.set $cob (i32.shl (local.get $co) (i32.const 2)))
    (local.set $dyRow (i32.mul (local.get $wo) (local.get $cob)))
    (block $done (loop $blocks
      (br_if $done (i32.ge_u (local.get $r0) (local.get $rows)))
      (local.set $r1 (i32.add (local.get $r0) (local.get $rb)))
      (if (i32.gt_u (local.get $r1) (local.get $rows)) (then (local.set $r1 (local.get $rows))))
      (local.set $t (i32.const 0))
      (loop $tapl
        (local.set $xt (i32.add (local.get $xg) (i32.shl (i32.load (i32.add (local.get $tapOff) (i32.shl (local.get $t) (i32.const 2)))) (i32.const 2))))
        (local.set $k (i32.const 0))
        (loop $kl
          (local.set $o (local.get $o0))
          (loop $ol
            ;; out[t, o + j, k .. k + 7]
            (local.set $acc (i32.add (local.get $out) (i32.add
              (i32.mul (i32.add (i32.mul (local.get $t) (local.get $co)) (local.get $o)) (local.get $cpb))
              (i32.shl (local.get $k) (i32.const 2)))))
            (local.set $a0 (v128.load (local.get $acc)))
            (local.set $a1 (v128.load offset=16 (local.get $acc)))
            (local.set $a2 (v128.load (i32.add (local.get $acc) (local.get $cpb))))
            (local.set $a3 (v128.load offset=16 (i32.add (local.get $acc) (local.get $cpb))))
            (local.set $a4 (v128.load (i32.add (local.get $acc) (i32.shl (local.get $cpb) (i32.const 1)))))
            (local.set $a5 (v128.load offset=16 (i32.add (local.get $acc) (i32.shl (local.get $cpb) (i32.const 1)))))
            (local.set $a6 (v128.load (i32.add (local.get $acc) (i32.mul (local.get $cpb) (i32.const 3)))))
            (local.set $a7 (v128.load offset=16 (i32.add (local.get $acc) (i32.mul (local.get $cpb) (i32.const 3)))))
            (local.set $r (local.get $r0))
            (loop $rowl
              (local.set $xp (i32.add (local.get $xt) (i32.add (i32.shl (local.get $k) (i32.const 2))
                (i32.load (i32.add (local.get $rowOff) (i32.shl (local.get $r) (i32.const 2)))))))
              (local.set $dp (i32.add (local.get $dy) (i32.add (i32.mul (local.get $r) (local.get $dyRow)) (i32.shl (local.get $o) (i32.const 2)))))
              (local.set $end (i32.add (local.get $dp) (local.get $dyRow)))
              (loop $pos
                (local.set $xa (v128.load (local.get $xp)))
                (local.set $xb (v128.load offset=16 (local.get $xp)))
                (local.set $d (v128.load32_splat (local.get $dp)))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $xa) (local.get $d))))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $xb) (local.get $d))))
                (local.set $d (v128.load32_splat offset=4 (local.get $dp)))
                (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $xa) (local.get $d))))
                (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $xb) (local.get $d))))
                (local.set $d (v128.load32_splat offset=8 (local.get $dp)))
                (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $xa) (local.get $d))))
                (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $xb) (local.get $d))))
                (local.set $d (v128.load32_splat offset=12 (local.get $dp)))
                (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $xa) (local.get $d))))
                (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $xb) (local.get $d))))
                (local.set $xp (i32.add (local.get $xp) (local.get $cpb)))
                (local.set $dp (i32.add (local.get $dp) (local.get $cob)))
                (br_if $pos (i32.lt_u (local.get $dp) (local.get $end))))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br_if $rowl (i32.lt_u (local.get $r) (local.get $r1))))
            (v128.store (local.get $acc) (local.get $a0))
            (v128.store offset=16 (local.get $acc) (local.get $a1))
            (v128.store (i32.add (local.get $acc) (local.get $cpb)) (local.get $a2))
            (v128.store offset=16 (i32.add (local.get $acc) (local.get $cpb)) (local.get $a3))
            (v128.store (i32.add (local.get $acc) (i32.shl (local.get $cpb) (i32.const 1))) (local.get $a4))
            (v128.store offset=16 (i32.add (local.get $acc) (i32.shl (local.get $cpb) (i32.const 1))) (local.get $a5))
            (v128.store (i32.add (local.get $acc) (i32.mul (local.get $cpb) (i32.const 3))) (local.get $a6))
            (v128.store offset=16 (i32.add (local.get $acc) (i32.mul (local.get $cpb) (i32.const 3))) (local.get $a7))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (br_if $ol (i32.lt_u (local.get $o) (local.get $o1))))
          (local.set $k (i32.add (local.get $k) (i32.const 8)))
          (br_if $kl (i32.lt_u (local.get $k) (local.get $cp))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br_if $tapl (i32.lt_u (local.get $t) (local.get $taps))))
      (local.set $r0 (local.get $r1))
      (br $blocks))))

;; The stride-phase outputs of the input gradient put back in place (wasm-kernels.ts):
  ;; dst[m, r0 + t*sh, c0 + v*sw, :] = src[m, t, v, :] for t < rows, v < cols; src is
  ;; [n, rows, cols, c] and dst [n, h, w, c].
  (func (export "scatterPhase") (param $src i32) (param $n i32) (param $rows i32) (param $cols i32) (param $c i32)
    (param $dst i32) (param $h i32) (param $w i32) (param $sh i32) (param $sw i32) (param $r0 i32) (param $c0 i32)
    (local $m i32) (local $t i32) (local $v i32) (local $pix i32) (local $d i32) (local $step i32)
    (local.set $pix (i32.shl (local.get $c) (i32.const 2)))
    (local.set $step (i32.mul (local.get $pix) (local.get $sw)))
    (block $mdone (loop $images
      (br_if $mdone (i32.ge_u (local.get $m) (local.get $n)))
      (local.set $t (i32.const 0))
      (block $tdone (loop $rowsl
        (br_if $tdone (i32.ge_u (local.get $t) (local.get $rows)))
        (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $pix)
          (i32.add (i32.mul (i32.add (i32.mul (local.get $m) (local.get $h)) (i32.add (local.get $r0) (i32.mul (local.get $t) (local.get $sh)))) (local.get $w))
            (local.get $c0)))))
        (local.set $v (i32.const 0))
        (block $vdone (loop $colsl
          (br_if $vdone (i32.ge_u (local.get $v) (local.get $cols)))
          (memory.copy (local.get $d) (local.get $src) (local.get $pix))
          (local.set $src (i32.add (local.get $src) (local.get $pix)))
          (local.set $d (i32.add (local.get $d) (local.get $step)))
          (local.set $v (i32.add (local.get $v) (i32.const 1)))
          (br $colsl)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $rowsl)))
      (local.set $m (i32.add (local.get $m) (i32.const 1)))
      (br $images))))

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
