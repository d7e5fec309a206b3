/*
 * iops.h: the interpreter's internal instruction set (threaded code).
 *
 * translate.c emits these; interp.c executes them. Code is a stream of 32-bit
 * words: an instruction is its handler word (an offset from the interpreter's
 * dispatch base) followed by operand words. Operands named with a single
 * letter are frame slot indices (8-byte cells addressed from the frame
 * pointer); `off` is a branch offset in words relative to the offset word
 * itself; `imm` are immediates. S[x] is slot x.
 *
 * Numeric instructions keep their WebAssembly names: unary ones are `d a`
 * (S[d] := op S[a]), binary ones `d a b` (S[d] := S[a] op S[b]). Loads are
 * `d a imm` (S[d] := mem[S[a] + imm]), stores `a v imm` (mem[S[a] + imm] := S[v]).
 */
#ifndef WISP_IOPS_H
#define WISP_IOPS_H

#define WISP_CONTROL_IOPS(X) \
  X(UNREACHABLE)    /*                      trap "unreachable" */ \
  X(FUEL)           /* imm                  fuel -= imm; suspend when < 0 */ \
  X(BR)             /* off                  jump */ \
  X(BR_NZ)          /* c off                jump if S[c].i32 != 0 */ \
  X(BR_Z)           /* c off                jump if S[c].i32 == 0 */ \
  X(BR_TABLE)       /* i n off*(n+1)        jump by off[min(S[i].u32, n)] */ \
  X(RET)            /*                      return to the caller frame */ \
  X(RET1)           /* s                    S[0] := S[s]; return to the caller frame */ \
  X(CALL)           /* func base            call function `func` with frame at S[base] */ \
  X(CALL_INDIRECT)  /* canon table i base   call table[S[i]] checking its type */ \
  X(EXIT)           /*                      end of an embedder call (sentinel code) */ \
  X(BR_I32_EQ)      /* a b off              jump if S[a] == S[b]  (fused compare+branch) */ \
  X(BR_I32_NE)      /* a b off */ \
  X(BR_I32_LT_S)    /* a b off */ \
  X(BR_I32_LT_U)    /* a b off */ \
  X(BR_I32_GT_S)    /* a b off */ \
  X(BR_I32_GT_U)    /* a b off */ \
  X(BR_I32_LE_S)    /* a b off */ \
  X(BR_I32_LE_U)    /* a b off */ \
  X(BR_I32_GE_S)    /* a b off */ \
  X(BR_I32_GE_U)    /* a b off */ \
  X(BR_I32_EQ_IMM)  /* a imm off            jump if S[a] == imm  (fused compare-with-constant+branch) */ \
  X(BR_I32_NE_IMM)  /* a imm off */ \
  X(BR_I32_LT_S_IMM) /* a imm off */ \
  X(BR_I32_LT_U_IMM) /* a imm off */ \
  X(BR_I32_GT_S_IMM) /* a imm off */ \
  X(BR_I32_GT_U_IMM) /* a imm off */ \
  X(BR_I32_LE_S_IMM) /* a imm off */ \
  X(BR_I32_LE_U_IMM) /* a imm off */ \
  X(BR_I32_GE_S_IMM) /* a imm off */ \
  X(BR_I32_GE_U_IMM) /* a imm off */ \
  X(I32_EQ_IMM)     /* d a imm              S[d] := S[a] == imm (i32 compares with a constant) */ \
  X(I32_NE_IMM)     /* d a imm */ \
  X(I32_LT_S_IMM)   /* d a imm */ \
  X(I32_LT_U_IMM)   /* d a imm */ \
  X(I32_GT_S_IMM)   /* d a imm */ \
  X(I32_GT_U_IMM)   /* d a imm */ \
  X(I32_LE_S_IMM)   /* d a imm */ \
  X(I32_LE_U_IMM)   /* d a imm */ \
  X(I32_GE_S_IMM)   /* d a imm */ \
  X(I32_GE_U_IMM)   /* d a imm */ \
  X(I32_AND_IMM)    /* d a imm              S[d] := S[a] & imm (and/or/xor/shifts/mul with a constant) */ \
  X(I32_OR_IMM)     /* d a imm */ \
  X(I32_XOR_IMM)    /* d a imm */ \
  X(I32_SHL_IMM)    /* d a imm */ \
  X(I32_SHR_S_IMM)  /* d a imm */ \
  X(I32_SHR_U_IMM)  /* d a imm */ \
  X(I32_MUL_IMM)    /* d a imm */ \
  X(MOV)            /* d s                  S[d] := S[s] (all 64 bits) */ \
  X(CONST32)        /* d imm                S[d].u32 := imm */ \
  X(CONST64)        /* d lo hi              S[d].u64 := hi<<32 | lo */ \
  X(SELECT)         /* d a b c              S[d] := S[c].i32 ? S[a] : S[b] */ \
  X(GLOBAL_GET)     /* d g                  S[d] := global g */ \
  X(GLOBAL_SET)     /* g s                  global g := S[s] */ \
  X(TABLE_GET)      /* d t i */ \
  X(TABLE_SET)      /* t i v */ \
  X(TABLE_SIZE)     /* d t */ \
  X(TABLE_GROW)     /* d t v n              S[d] := old size or -1 */ \
  X(TABLE_FILL)     /* t i v n */ \
  X(TABLE_COPY)     /* dt st d s n */ \
  X(TABLE_INIT)     /* t seg d s n */ \
  X(ELEM_DROP)      /* seg */ \
  X(REF_IS_NULL)    /* d a */ \
  X(REF_FUNC)       /* d f */ \
  X(MEMORY_SIZE)    /* d */ \
  X(MEMORY_GROW)    /* d n */ \
  X(MEMORY_FILL)    /* d v n */ \
  X(MEMORY_COPY)    /* d s n */ \
  X(MEMORY_INIT)    /* seg d s n */ \
  X(DATA_DROP)      /* seg */ \
  X(I32_ADD_IMM)    /* d a imm              S[d] := S[a] + imm (i32.add/sub with a constant) */ \
  X(I64_ADD_IMM)    /* d a imm              S[d] := S[a] + sext(imm) */

#define WISP_MEMORY_IOPS(X) \
  X(I32_LOAD) X(I64_LOAD) X(F32_LOAD) X(F64_LOAD) X(I32_LOAD8_S) X(I32_LOAD8_U) X(I32_LOAD16_S) \
  X(I32_LOAD16_U) X(I64_LOAD8_S) X(I64_LOAD8_U) X(I64_LOAD16_S) X(I64_LOAD16_U) X(I64_LOAD32_S) \
  X(I64_LOAD32_U) X(I32_STORE) X(I64_STORE) X(F32_STORE) X(F64_STORE) X(I32_STORE8) X(I32_STORE16) \
  X(I64_STORE8) X(I64_STORE16) X(I64_STORE32)

#define WISP_NUMERIC_IOPS(X) \
  X(I32_EQZ) X(I32_EQ) X(I32_NE) X(I32_LT_S) X(I32_LT_U) X(I32_GT_S) X(I32_GT_U) X(I32_LE_S) X(I32_LE_U) \
  X(I32_GE_S) X(I32_GE_U) X(I64_EQZ) X(I64_EQ) X(I64_NE) X(I64_LT_S) X(I64_LT_U) X(I64_GT_S) X(I64_GT_U) \
  X(I64_LE_S) X(I64_LE_U) X(I64_GE_S) X(I64_GE_U) X(F32_EQ) X(F32_NE) X(F32_LT) X(F32_GT) X(F32_LE) \
  X(F32_GE) X(F64_EQ) X(F64_NE) X(F64_LT) X(F64_GT) X(F64_LE) X(F64_GE) X(I32_CLZ) X(I32_CTZ) \
  X(I32_POPCNT) X(I32_ADD) X(I32_SUB) X(I32_MUL) X(I32_DIV_S) X(I32_DIV_U) X(I32_REM_S) X(I32_REM_U) \
  X(I32_AND) X(I32_OR) X(I32_XOR) X(I32_SHL) X(I32_SHR_S) X(I32_SHR_U) X(I32_ROTL) X(I32_ROTR) \
  X(I64_CLZ) X(I64_CTZ) X(I64_POPCNT) X(I64_ADD) X(I64_SUB) X(I64_MUL) X(I64_DIV_S) X(I64_DIV_U) \
  X(I64_REM_S) X(I64_REM_U) X(I64_AND) X(I64_OR) X(I64_XOR) X(I64_SHL) X(I64_SHR_S) X(I64_SHR_U) \
  X(I64_ROTL) X(I64_ROTR) X(F32_ABS) X(F32_NEG) X(F32_CEIL) X(F32_FLOOR) X(F32_TRUNC) X(F32_NEAREST) \
  X(F32_SQRT) X(F32_ADD) X(F32_SUB) X(F32_MUL) X(F32_DIV) X(F32_MIN) X(F32_MAX) X(F32_COPYSIGN) \
  X(F64_ABS) X(F64_NEG) X(F64_CEIL) X(F64_FLOOR) X(F64_TRUNC) X(F64_NEAREST) X(F64_SQRT) X(F64_ADD) \
  X(F64_SUB) X(F64_MUL) X(F64_DIV) X(F64_MIN) X(F64_MAX) X(F64_COPYSIGN) X(I32_WRAP_I64) \
  X(I32_TRUNC_F32_S) X(I32_TRUNC_F32_U) X(I32_TRUNC_F64_S) X(I32_TRUNC_F64_U) X(I64_EXTEND_I32_S) \
  X(I64_EXTEND_I32_U) X(I64_TRUNC_F32_S) X(I64_TRUNC_F32_U) X(I64_TRUNC_F64_S) X(I64_TRUNC_F64_U) \
  X(F32_CONVERT_I32_S) X(F32_CONVERT_I32_U) X(F32_CONVERT_I64_S) X(F32_CONVERT_I64_U) X(F32_DEMOTE_F64) \
  X(F64_CONVERT_I32_S) X(F64_CONVERT_I32_U) X(F64_CONVERT_I64_S) X(F64_CONVERT_I64_U) X(F64_PROMOTE_F32) \
  X(I32_REINTERPRET_F32) X(I64_REINTERPRET_F64) X(F32_REINTERPRET_I32) X(F64_REINTERPRET_I64) \
  X(I32_EXTEND8_S) X(I32_EXTEND16_S) X(I64_EXTEND8_S) X(I64_EXTEND16_S) X(I64_EXTEND32_S) \
  X(I32_TRUNC_SAT_F32_S) X(I32_TRUNC_SAT_F32_U) X(I32_TRUNC_SAT_F64_S) X(I32_TRUNC_SAT_F64_U) \
  X(I64_TRUNC_SAT_F32_S) X(I64_TRUNC_SAT_F32_U) X(I64_TRUNC_SAT_F64_S) X(I64_TRUNC_SAT_F64_U)

#define WISP_IOPS(X) WISP_CONTROL_IOPS(X) WISP_MEMORY_IOPS(X) WISP_NUMERIC_IOPS(X)

typedef enum wisp__iop {
#define WISP__IOP_ENUM(name) WISP_IOP_##name,
  WISP_IOPS(WISP__IOP_ENUM)
#undef WISP__IOP_ENUM
  WISP_IOP_COUNT
} wisp__iop_t;

#endif
