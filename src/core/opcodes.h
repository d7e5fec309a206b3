/*
 * opcodes.h: the one table of WebAssembly core instructions (non-SIMD).
 *
 * Every part of the engine that needs to know an instruction's encoding, name,
 * immediate or stack signature reads this list: the decoder and validator, the
 * translator (which maps each to internal code), and the disassembler/tracer.
 * SIMD (0xFD prefix) instructions live in simd_ops.h with the same columns.
 *
 * Columns: X(ID, CODE, "name", IMM, "signature", ALIGN)
 *   ID     the enum name, WISP_OP_<ID>
 *   CODE   single-byte opcodes are their byte; 0xFC-prefixed ones are 0xFC00|sub;
 *          SIMD (in simd_ops.h) are 0x10000|sub.
 *   IMM    the immediate kind (wisp__imm_t below)
 *   sig    "params>results" with i=i32 I=i64 f=f32 F=f64 v=v128, or NULL when the
 *          validator handles the instruction by hand (control, locals, refs...)
 *   ALIGN  log2 of the natural alignment for memory accesses, else 0
 */
#ifndef WISP_OPCODES_H
#define WISP_OPCODES_H

#include <stddef.h>
#include <stdint.h>

typedef enum wisp__imm {
  WISP_IMM_NONE,
  WISP_IMM_BLOCKTYPE,   /* block, loop, if: s33 block type */
  WISP_IMM_LABEL,       /* br, br_if: u32 label depth */
  WISP_IMM_BRTABLE,     /* vec(u32) then u32 default */
  WISP_IMM_FUNC,        /* call, ref.func: u32 funcidx */
  WISP_IMM_CALL_INDIRECT, /* u32 typeidx, u32 tableidx */
  WISP_IMM_LOCAL,       /* u32 localidx */
  WISP_IMM_GLOBAL,      /* u32 globalidx */
  WISP_IMM_TABLE,       /* u32 tableidx */
  WISP_IMM_MEMARG,      /* u32 align, u32 offset */
  WISP_IMM_MEMIDX,      /* memory.size/grow/fill: one 0x00 byte */
  WISP_IMM_I32,         /* s32 */
  WISP_IMM_I64,         /* s64 */
  WISP_IMM_F32,         /* 4 bytes */
  WISP_IMM_F64,         /* 8 bytes */
  WISP_IMM_REFTYPE,     /* ref.null: one byte, 0x70 or 0x6F */
  WISP_IMM_SELECT_T,    /* vec(valtype), length must be 1 */
  WISP_IMM_DATA_MEM,    /* memory.init: u32 dataidx, 0x00 */
  WISP_IMM_DATA,        /* data.drop: u32 dataidx */
  WISP_IMM_MEM_MEM,     /* memory.copy: 0x00 0x00 */
  WISP_IMM_ELEM_TABLE,  /* table.init: u32 elemidx, u32 tableidx */
  WISP_IMM_ELEM,        /* elem.drop: u32 elemidx */
  WISP_IMM_TABLE_TABLE, /* table.copy: u32 dst tableidx, u32 src tableidx */
  /* SIMD only */
  WISP_IMM_V128,        /* 16 bytes */
  WISP_IMM_LANE,        /* one lane-index byte */
  WISP_IMM_MEMARG_LANE, /* memarg then lane byte */
  WISP_IMM_SHUFFLE,     /* 16 lane-index bytes */
} wisp__imm_t;

#define WISP_CORE_OPS(X) \
  X(UNREACHABLE,        0x00, "unreachable",         NONE,          NULL,   0) \
  X(NOP,                0x01, "nop",                 NONE,          NULL,   0) \
  X(BLOCK,              0x02, "block",               BLOCKTYPE,     NULL,   0) \
  X(LOOP,               0x03, "loop",                BLOCKTYPE,     NULL,   0) \
  X(IF,                 0x04, "if",                  BLOCKTYPE,     NULL,   0) \
  X(ELSE,               0x05, "else",                NONE,          NULL,   0) \
  X(END,                0x0B, "end",                 NONE,          NULL,   0) \
  X(BR,                 0x0C, "br",                  LABEL,         NULL,   0) \
  X(BR_IF,              0x0D, "br_if",               LABEL,         NULL,   0) \
  X(BR_TABLE,           0x0E, "br_table",            BRTABLE,       NULL,   0) \
  X(RETURN,             0x0F, "return",              NONE,          NULL,   0) \
  X(CALL,               0x10, "call",                FUNC,          NULL,   0) \
  X(CALL_INDIRECT,      0x11, "call_indirect",       CALL_INDIRECT, NULL,   0) \
  X(DROP,               0x1A, "drop",                NONE,          NULL,   0) \
  X(SELECT,             0x1B, "select",              NONE,          NULL,   0) \
  X(SELECT_T,           0x1C, "select",              SELECT_T,      NULL,   0) \
  X(LOCAL_GET,          0x20, "local.get",           LOCAL,         NULL,   0) \
  X(LOCAL_SET,          0x21, "local.set",           LOCAL,         NULL,   0) \
  X(LOCAL_TEE,          0x22, "local.tee",           LOCAL,         NULL,   0) \
  X(GLOBAL_GET,         0x23, "global.get",          GLOBAL,        NULL,   0) \
  X(GLOBAL_SET,         0x24, "global.set",          GLOBAL,        NULL,   0) \
  X(TABLE_GET,          0x25, "table.get",           TABLE,         NULL,   0) \
  X(TABLE_SET,          0x26, "table.set",           TABLE,         NULL,   0) \
  X(I32_LOAD,           0x28, "i32.load",            MEMARG,        "i>i",  2) \
  X(I64_LOAD,           0x29, "i64.load",            MEMARG,        "i>I",  3) \
  X(F32_LOAD,           0x2A, "f32.load",            MEMARG,        "i>f",  2) \
  X(F64_LOAD,           0x2B, "f64.load",            MEMARG,        "i>F",  3) \
  X(I32_LOAD8_S,        0x2C, "i32.load8_s",         MEMARG,        "i>i",  0) \
  X(I32_LOAD8_U,        0x2D, "i32.load8_u",         MEMARG,        "i>i",  0) \
  X(I32_LOAD16_S,       0x2E, "i32.load16_s",        MEMARG,        "i>i",  1) \
  X(I32_LOAD16_U,       0x2F, "i32.load16_u",        MEMARG,        "i>i",  1) \
  X(I64_LOAD8_S,        0x30, "i64.load8_s",         MEMARG,        "i>I",  0) \
  X(I64_LOAD8_U,        0x31, "i64.load8_u",         MEMARG,        "i>I",  0) \
  X(I64_LOAD16_S,       0x32, "i64.load16_s",        MEMARG,        "i>I",  1) \
  X(I64_LOAD16_U,       0x33, "i64.load16_u",        MEMARG,        "i>I",  1) \
  X(I64_LOAD32_S,       0x34, "i64.load32_s",        MEMARG,        "i>I",  2) \
  X(I64_LOAD32_U,       0x35, "i64.load32_u",        MEMARG,        "i>I",  2) \
  X(I32_STORE,          0x36, "i32.store",           MEMARG,        "ii>",  2) \
  X(I64_STORE,          0x37, "i64.store",           MEMARG,        "iI>",  3) \
  X(F32_STORE,          0x38, "f32.store",           MEMARG,        "if>",  2) \
  X(F64_STORE,          0x39, "f64.store",           MEMARG,        "iF>",  3) \
  X(I32_STORE8,         0x3A, "i32.store8",          MEMARG,        "ii>",  0) \
  X(I32_STORE16,        0x3B, "i32.store16",         MEMARG,        "ii>",  1) \
  X(I64_STORE8,         0x3C, "i64.store8",          MEMARG,        "iI>",  0) \
  X(I64_STORE16,        0x3D, "i64.store16",         MEMARG,        "iI>",  1) \
  X(I64_STORE32,        0x3E, "i64.store32",         MEMARG,        "iI>",  2) \
  X(MEMORY_SIZE,        0x3F, "memory.size",         MEMIDX,        ">i",   0) \
  X(MEMORY_GROW,        0x40, "memory.grow",         MEMIDX,        "i>i",  0) \
  X(I32_CONST,          0x41, "i32.const",           I32,           ">i",   0) \
  X(I64_CONST,          0x42, "i64.const",           I64,           ">I",   0) \
  X(F32_CONST,          0x43, "f32.const",           F32,           ">f",   0) \
  X(F64_CONST,          0x44, "f64.const",           F64,           ">F",   0) \
  X(I32_EQZ,            0x45, "i32.eqz",             NONE,          "i>i",  0) \
  X(I32_EQ,             0x46, "i32.eq",              NONE,          "ii>i", 0) \
  X(I32_NE,             0x47, "i32.ne",              NONE,          "ii>i", 0) \
  X(I32_LT_S,           0x48, "i32.lt_s",            NONE,          "ii>i", 0) \
  X(I32_LT_U,           0x49, "i32.lt_u",            NONE,          "ii>i", 0) \
  X(I32_GT_S,           0x4A, "i32.gt_s",            NONE,          "ii>i", 0) \
  X(I32_GT_U,           0x4B, "i32.gt_u",            NONE,          "ii>i", 0) \
  X(I32_LE_S,           0x4C, "i32.le_s",            NONE,          "ii>i", 0) \
  X(I32_LE_U,           0x4D, "i32.le_u",            NONE,          "ii>i", 0) \
  X(I32_GE_S,           0x4E, "i32.ge_s",            NONE,          "ii>i", 0) \
  X(I32_GE_U,           0x4F, "i32.ge_u",            NONE,          "ii>i", 0) \
  X(I64_EQZ,            0x50, "i64.eqz",             NONE,          "I>i",  0) \
  X(I64_EQ,             0x51, "i64.eq",              NONE,          "II>i", 0) \
  X(I64_NE,             0x52, "i64.ne",              NONE,          "II>i", 0) \
  X(I64_LT_S,           0x53, "i64.lt_s",            NONE,          "II>i", 0) \
  X(I64_LT_U,           0x54, "i64.lt_u",            NONE,          "II>i", 0) \
  X(I64_GT_S,           0x55, "i64.gt_s",            NONE,          "II>i", 0) \
  X(I64_GT_U,           0x56, "i64.gt_u",            NONE,          "II>i", 0) \
  X(I64_LE_S,           0x57, "i64.le_s",            NONE,          "II>i", 0) \
  X(I64_LE_U,           0x58, "i64.le_u",            NONE,          "II>i", 0) \
  X(I64_GE_S,           0x59, "i64.ge_s",            NONE,          "II>i", 0) \
  X(I64_GE_U,           0x5A, "i64.ge_u",            NONE,          "II>i", 0) \
  X(F32_EQ,             0x5B, "f32.eq",              NONE,          "ff>i", 0) \
  X(F32_NE,             0x5C, "f32.ne",              NONE,          "ff>i", 0) \
  X(F32_LT,             0x5D, "f32.lt",              NONE,          "ff>i", 0) \
  X(F32_GT,             0x5E, "f32.gt",              NONE,          "ff>i", 0) \
  X(F32_LE,             0x5F, "f32.le",              NONE,          "ff>i", 0) \
  X(F32_GE,             0x60, "f32.ge",              NONE,          "ff>i", 0) \
  X(F64_EQ,             0x61, "f64.eq",              NONE,          "FF>i", 0) \
  X(F64_NE,             0x62, "f64.ne",              NONE,          "FF>i", 0) \
  X(F64_LT,             0x63, "f64.lt",              NONE,          "FF>i", 0) \
  X(F64_GT,             0x64, "f64.gt",              NONE,          "FF>i", 0) \
  X(F64_LE,             0x65, "f64.le",              NONE,          "FF>i", 0) \
  X(F64_GE,             0x66, "f64.ge",              NONE,          "FF>i", 0) \
  X(I32_CLZ,            0x67, "i32.clz",             NONE,          "i>i",  0) \
  X(I32_CTZ,            0x68, "i32.ctz",             NONE,          "i>i",  0) \
  X(I32_POPCNT,         0x69, "i32.popcnt",          NONE,          "i>i",  0) \
  X(I32_ADD,            0x6A, "i32.add",             NONE,          "ii>i", 0) \
  X(I32_SUB,            0x6B, "i32.sub",             NONE,          "ii>i", 0) \
  X(I32_MUL,            0x6C, "i32.mul",             NONE,          "ii>i", 0) \
  X(I32_DIV_S,          0x6D, "i32.div_s",           NONE,          "ii>i", 0) \
  X(I32_DIV_U,          0x6E, "i32.div_u",           NONE,          "ii>i", 0) \
  X(I32_REM_S,          0x6F, "i32.rem_s",           NONE,          "ii>i", 0) \
  X(I32_REM_U,          0x70, "i32.rem_u",           NONE,          "ii>i", 0) \
  X(I32_AND,            0x71, "i32.and",             NONE,          "ii>i", 0) \
  X(I32_OR,             0x72, "i32.or",              NONE,          "ii>i", 0) \
  X(I32_XOR,            0x73, "i32.xor",             NONE,          "ii>i", 0) \
  X(I32_SHL,            0x74, "i32.shl",             NONE,          "ii>i", 0) \
  X(I32_SHR_S,          0x75, "i32.shr_s",           NONE,          "ii>i", 0) \
  X(I32_SHR_U,          0x76, "i32.shr_u",           NONE,          "ii>i", 0) \
  X(I32_ROTL,           0x77, "i32.rotl",            NONE,          "ii>i", 0) \
  X(I32_ROTR,           0x78, "i32.rotr",            NONE,          "ii>i", 0) \
  X(I64_CLZ,            0x79, "i64.clz",             NONE,          "I>I",  0) \
  X(I64_CTZ,            0x7A, "i64.ctz",             NONE,          "I>I",  0) \
  X(I64_POPCNT,         0x7B, "i64.popcnt",          NONE,          "I>I",  0) \
  X(I64_ADD,            0x7C, "i64.add",             NONE,          "II>I", 0) \
  X(I64_SUB,            0x7D, "i64.sub",             NONE,          "II>I", 0) \
  X(I64_MUL,            0x7E, "i64.mul",             NONE,          "II>I", 0) \
  X(I64_DIV_S,          0x7F, "i64.div_s",           NONE,          "II>I", 0) \
  X(I64_DIV_U,          0x80, "i64.div_u",           NONE,          "II>I", 0) \
  X(I64_REM_S,          0x81, "i64.rem_s",           NONE,          "II>I", 0) \
  X(I64_REM_U,          0x82, "i64.rem_u",           NONE,          "II>I", 0) \
  X(I64_AND,            0x83, "i64.and",             NONE,          "II>I", 0) \
  X(I64_OR,             0x84, "i64.or",              NONE,          "II>I", 0) \
  X(I64_XOR,            0x85, "i64.xor",             NONE,          "II>I", 0) \
  X(I64_SHL,            0x86, "i64.shl",             NONE,          "II>I", 0) \
  X(I64_SHR_S,          0x87, "i64.shr_s",           NONE,          "II>I", 0) \
  X(I64_SHR_U,          0x88, "i64.shr_u",           NONE,          "II>I", 0) \
  X(I64_ROTL,           0x89, "i64.rotl",            NONE,          "II>I", 0) \
  X(I64_ROTR,           0x8A, "i64.rotr",            NONE,          "II>I", 0) \
  X(F32_ABS,            0x8B, "f32.abs",             NONE,          "f>f",  0) \
  X(F32_NEG,            0x8C, "f32.neg",             NONE,          "f>f",  0) \
  X(F32_CEIL,           0x8D, "f32.ceil",            NONE,          "f>f",  0) \
  X(F32_FLOOR,          0x8E, "f32.floor",           NONE,          "f>f",  0) \
  X(F32_TRUNC,          0x8F, "f32.trunc",           NONE,          "f>f",  0) \
  X(F32_NEAREST,        0x90, "f32.nearest",         NONE,          "f>f",  0) \
  X(F32_SQRT,           0x91, "f32.sqrt",            NONE,          "f>f",  0) \
  X(F32_ADD,            0x92, "f32.add",             NONE,          "ff>f", 0) \
  X(F32_SUB,            0x93, "f32.sub",             NONE,          "ff>f", 0) \
  X(F32_MUL,            0x94, "f32.mul",             NONE,          "ff>f", 0) \
  X(F32_DIV,            0x95, "f32.div",             NONE,          "ff>f", 0) \
  X(F32_MIN,            0x96, "f32.min",             NONE,          "ff>f", 0) \
  X(F32_MAX,            0x97, "f32.max",             NONE,          "ff>f", 0) \
  X(F32_COPYSIGN,       0x98, "f32.copysign",        NONE,          "ff>f", 0) \
  X(F64_ABS,            0x99, "f64.abs",             NONE,          "F>F",  0) \
  X(F64_NEG,            0x9A, "f64.neg",             NONE,          "F>F",  0) \
  X(F64_CEIL,           0x9B, "f64.ceil",            NONE,          "F>F",  0) \
  X(F64_FLOOR,          0x9C, "f64.floor",           NONE,          "F>F",  0) \
  X(F64_TRUNC,          0x9D, "f64.trunc",           NONE,          "F>F",  0) \
  X(F64_NEAREST,        0x9E, "f64.nearest",         NONE,          "F>F",  0) \
  X(F64_SQRT,           0x9F, "f64.sqrt",            NONE,          "F>F",  0) \
  X(F64_ADD,            0xA0, "f64.add",             NONE,          "FF>F", 0) \
  X(F64_SUB,            0xA1, "f64.sub",             NONE,          "FF>F", 0) \
  X(F64_MUL,            0xA2, "f64.mul",             NONE,          "FF>F", 0) \
  X(F64_DIV,            0xA3, "f64.div",             NONE,          "FF>F", 0) \
  X(F64_MIN,            0xA4, "f64.min",             NONE,          "FF>F", 0) \
  X(F64_MAX,            0xA5, "f64.max",             NONE,          "FF>F", 0) \
  X(F64_COPYSIGN,       0xA6, "f64.copysign",        NONE,          "FF>F", 0) \
  X(I32_WRAP_I64,       0xA7, "i32.wrap_i64",        NONE,          "I>i",  0) \
  X(I32_TRUNC_F32_S,    0xA8, "i32.trunc_f32_s",     NONE,          "f>i",  0) \
  X(I32_TRUNC_F32_U,    0xA9, "i32.trunc_f32_u",     NONE,          "f>i",  0) \
  X(I32_TRUNC_F64_S,    0xAA, "i32.trunc_f64_s",     NONE,          "F>i",  0) \
  X(I32_TRUNC_F64_U,    0xAB, "i32.trunc_f64_u",     NONE,          "F>i",  0) \
  X(I64_EXTEND_I32_S,   0xAC, "i64.extend_i32_s",    NONE,          "i>I",  0) \
  X(I64_EXTEND_I32_U,   0xAD, "i64.extend_i32_u",    NONE,          "i>I",  0) \
  X(I64_TRUNC_F32_S,    0xAE, "i64.trunc_f32_s",     NONE,          "f>I",  0) \
  X(I64_TRUNC_F32_U,    0xAF, "i64.trunc_f32_u",     NONE,          "f>I",  0) \
  X(I64_TRUNC_F64_S,    0xB0, "i64.trunc_f64_s",     NONE,          "F>I",  0) \
  X(I64_TRUNC_F64_U,    0xB1, "i64.trunc_f64_u",     NONE,          "F>I",  0) \
  X(F32_CONVERT_I32_S,  0xB2, "f32.convert_i32_s",   NONE,          "i>f",  0) \
  X(F32_CONVERT_I32_U,  0xB3, "f32.convert_i32_u",   NONE,          "i>f",  0) \
  X(F32_CONVERT_I64_S,  0xB4, "f32.convert_i64_s",   NONE,          "I>f",  0) \
  X(F32_CONVERT_I64_U,  0xB5, "f32.convert_i64_u",   NONE,          "I>f",  0) \
  X(F32_DEMOTE_F64,     0xB6, "f32.demote_f64",      NONE,          "F>f",  0) \
  X(F64_CONVERT_I32_S,  0xB7, "f64.convert_i32_s",   NONE,          "i>F",  0) \
  X(F64_CONVERT_I32_U,  0xB8, "f64.convert_i32_u",   NONE,          "i>F",  0) \
  X(F64_CONVERT_I64_S,  0xB9, "f64.convert_i64_s",   NONE,          "I>F",  0) \
  X(F64_CONVERT_I64_U,  0xBA, "f64.convert_i64_u",   NONE,          "I>F",  0) \
  X(F64_PROMOTE_F32,    0xBB, "f64.promote_f32",     NONE,          "f>F",  0) \
  X(I32_REINTERPRET_F32,0xBC, "i32.reinterpret_f32", NONE,          "f>i",  0) \
  X(I64_REINTERPRET_F64,0xBD, "i64.reinterpret_f64", NONE,          "F>I",  0) \
  X(F32_REINTERPRET_I32,0xBE, "f32.reinterpret_i32", NONE,          "i>f",  0) \
  X(F64_REINTERPRET_I64,0xBF, "f64.reinterpret_i64", NONE,          "I>F",  0) \
  X(I32_EXTEND8_S,      0xC0, "i32.extend8_s",       NONE,          "i>i",  0) \
  X(I32_EXTEND16_S,     0xC1, "i32.extend16_s",      NONE,          "i>i",  0) \
  X(I64_EXTEND8_S,      0xC2, "i64.extend8_s",       NONE,          "I>I",  0) \
  X(I64_EXTEND16_S,     0xC3, "i64.extend16_s",      NONE,          "I>I",  0) \
  X(I64_EXTEND32_S,     0xC4, "i64.extend32_s",      NONE,          "I>I",  0) \
  X(REF_NULL,           0xD0, "ref.null",            REFTYPE,       NULL,   0) \
  X(REF_IS_NULL,        0xD1, "ref.is_null",         NONE,          NULL,   0) \
  X(REF_FUNC,           0xD2, "ref.func",            FUNC,          NULL,   0) \
  X(I32_TRUNC_SAT_F32_S,0xFC00, "i32.trunc_sat_f32_s", NONE,        "f>i",  0) \
  X(I32_TRUNC_SAT_F32_U,0xFC01, "i32.trunc_sat_f32_u", NONE,        "f>i",  0) \
  X(I32_TRUNC_SAT_F64_S,0xFC02, "i32.trunc_sat_f64_s", NONE,        "F>i",  0) \
  X(I32_TRUNC_SAT_F64_U,0xFC03, "i32.trunc_sat_f64_u", NONE,        "F>i",  0) \
  X(I64_TRUNC_SAT_F32_S,0xFC04, "i64.trunc_sat_f32_s", NONE,        "f>I",  0) \
  X(I64_TRUNC_SAT_F32_U,0xFC05, "i64.trunc_sat_f32_u", NONE,        "f>I",  0) \
  X(I64_TRUNC_SAT_F64_S,0xFC06, "i64.trunc_sat_f64_s", NONE,        "F>I",  0) \
  X(I64_TRUNC_SAT_F64_U,0xFC07, "i64.trunc_sat_f64_u", NONE,        "F>I",  0) \
  X(MEMORY_INIT,        0xFC08, "memory.init",       DATA_MEM,      "iii>", 0) \
  X(DATA_DROP,          0xFC09, "data.drop",         DATA,          ">",    0) \
  X(MEMORY_COPY,        0xFC0A, "memory.copy",       MEM_MEM,       "iii>", 0) \
  X(MEMORY_FILL,        0xFC0B, "memory.fill",       MEMIDX,        "iii>", 0) \
  X(TABLE_INIT,         0xFC0C, "table.init",        ELEM_TABLE,    "iii>", 0) \
  X(ELEM_DROP,          0xFC0D, "elem.drop",         ELEM,          ">",    0) \
  X(TABLE_COPY,         0xFC0E, "table.copy",        TABLE_TABLE,   "iii>", 0) \
  X(TABLE_GROW,         0xFC0F, "table.grow",        TABLE,         NULL,   0) \
  X(TABLE_SIZE,         0xFC10, "table.size",        TABLE,         ">i",   0) \
  X(TABLE_FILL,         0xFC11, "table.fill",        TABLE,         NULL,   0)

typedef enum wisp__op {
#define WISP__OP_ENUM(id, code, name, imm, sig, align) WISP_OP_##id = code,
  WISP_CORE_OPS(WISP__OP_ENUM)
#undef WISP__OP_ENUM
} wisp__op_t;

/* Properties of one instruction, looked up by its code (see CODE above). */
typedef struct wisp__opinfo {
  uint32_t code;
  const char *name;
  uint8_t imm;        /* a wisp__imm_t */
  uint8_t align;      /* log2 natural alignment for memory accesses */
  const char *sig;    /* see the table's header comment; NULL = special */
} wisp__opinfo_t;

/* The value type a signature letter stands for (see the table's header). */
static inline uint8_t wisp__sig_type(char c) {
  switch (c) {
    case 'i': return 0x7F; /* WISP_I32 */
    case 'I': return 0x7E; /* WISP_I64 */
    case 'f': return 0x7D; /* WISP_F32 */
    case 'F': return 0x7C; /* WISP_F64 */
    default: return 0x7B;  /* WISP_V128 ('v') */
  }
}

/* NULL if `code` is not a known core or SIMD instruction. */
const wisp__opinfo_t *wisp__opinfo(uint32_t code);

#endif
