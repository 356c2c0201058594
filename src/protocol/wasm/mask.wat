;; WebSocket masking kernel (RFC 6455 §5.3) with 128-bit SIMD.
;;
;; mask(ptr, len, key) XORs the `len` bytes at `ptr` in place with the 4-byte key given as a
;; little-endian i32 word: byte 0 of the run is XOR-ed with the low byte of `key`, byte 1 with
;; the next one, and so on. The caller rotates the word for the phase, so the kernel always
;; starts at key byte 0. Any `ptr` works: unaligned v128 and i32 accesses are valid in
;; WebAssembly (the align immediates below are hints, set to 1 to say so).
;;
;; Order of work: 64-byte blocks (4 x v128, the hot loop), then 16-byte blocks, then 4-byte
;; words, then single bytes. As every earlier step consumes a multiple of 4 bytes, the key
;; word only needs rotating in the byte tail.
;;
;; The memory is exported and fixed: minimum = maximum, so it can never grow, and views that
;; JavaScript keeps on it never detach. The layout of its 3 pages is decided in mask.ts.
(module
  (memory (export "memory") 3 3)

  (func (export "mask") (param $ptr i32) (param $len i32) (param $key i32)
    (local $end i32)
    (local $stop i32)
    (local $k v128)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (local.set $k (i32x4.splat (local.get $key)))

    ;; 64 bytes per iteration.
    (local.set $stop (i32.add (local.get $ptr) (i32.and (local.get $len) (i32.const -64))))
    (if (i32.lt_u (local.get $ptr) (local.get $stop))
      (then
        (loop $blocks64
          (v128.store offset=0 align=1 (local.get $ptr)
            (v128.xor (v128.load offset=0 align=1 (local.get $ptr)) (local.get $k)))
          (v128.store offset=16 align=1 (local.get $ptr)
            (v128.xor (v128.load offset=16 align=1 (local.get $ptr)) (local.get $k)))
          (v128.store offset=32 align=1 (local.get $ptr)
            (v128.xor (v128.load offset=32 align=1 (local.get $ptr)) (local.get $k)))
          (v128.store offset=48 align=1 (local.get $ptr)
            (v128.xor (v128.load offset=48 align=1 (local.get $ptr)) (local.get $k)))
          (local.set $ptr (i32.add (local.get $ptr) (i32.const 64)))
          (br_if $blocks64 (i32.lt_u (local.get $ptr) (local.get $stop))))))

    ;; Up to three 16-byte blocks.
    (local.set $stop
      (i32.add (local.get $ptr)
        (i32.and (i32.sub (local.get $end) (local.get $ptr)) (i32.const -16))))
    (block $done16
      (loop $blocks16
        (br_if $done16 (i32.ge_u (local.get $ptr) (local.get $stop)))
        (v128.store align=1 (local.get $ptr)
          (v128.xor (v128.load align=1 (local.get $ptr)) (local.get $k)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
        (br $blocks16)))

    ;; Up to three 4-byte words.
    (local.set $stop
      (i32.add (local.get $ptr)
        (i32.and (i32.sub (local.get $end) (local.get $ptr)) (i32.const -4))))
    (block $done4
      (loop $words
        (br_if $done4 (i32.ge_u (local.get $ptr) (local.get $stop)))
        (i32.store align=1 (local.get $ptr)
          (i32.xor (i32.load align=1 (local.get $ptr)) (local.get $key)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 4)))
        (br $words)))

    ;; Up to three bytes, rotating the key word one byte each time.
    (block $done1
      (loop $bytes
        (br_if $done1 (i32.ge_u (local.get $ptr) (local.get $end)))
        (i32.store8 (local.get $ptr)
          (i32.xor (i32.load8_u (local.get $ptr)) (local.get $key)))
        (local.set $key (i32.rotr (local.get $key) (i32.const 8)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (br $bytes)))))
