/*
 * simd_ops.h: the SIMD (0xFD prefix) instructions, same columns as opcodes.h.
 * CODE is 0x10000|subopcode.
 */
#ifndef WISP_SIMD_OPS_H
#define WISP_SIMD_OPS_H

#define WISP_SIMD_OPS(X) \
  X(V128_LOAD,          0x10000, "v128.load",        MEMARG,        "i>v",  4)

#endif
