/*
 * bytecode.c: a small register-machine interpreter (switch dispatch) running a
 * Collatz step-count program: indirect branches, array-indexed operands.
 */
#include "common.h"

enum { OP_LI, OP_ADD, OP_MUL, OP_AND, OP_SHR, OP_BEQ, OP_BLT, OP_JMP, OP_HALT };

typedef struct insn {
  uint8_t op, a, b, c; /* c: third register, or unused */
  int32_t imm;         /* LI value, branch target */
} insn_t;

/* r0 = n, r1 = limit, r2 = total steps, r3 = x, r4 = 1, r5 = 0, r6 = tmp, r7 = 3 */
static const insn_t program[] = {
    /* 0 */ {OP_LI, 0, 0, 0, 1},
    /* 1 */ {OP_LI, 1, 0, 0, 0}, /* limit patched in run() */
    /* 2 */ {OP_LI, 2, 0, 0, 0},
    /* 3 */ {OP_LI, 4, 0, 0, 1},
    /* 4 */ {OP_LI, 5, 0, 0, 0},
    /* 5 */ {OP_LI, 7, 0, 0, 3},
    /* 6 outer */ {OP_ADD, 3, 0, 5, 0},
    /* 7 inner */ {OP_BEQ, 3, 4, 0, 16},
    /* 8 */ {OP_AND, 6, 3, 4, 0},
    /* 9 */ {OP_BEQ, 6, 5, 0, 13},
    /* 10 */ {OP_MUL, 3, 3, 7, 0},
    /* 11 */ {OP_ADD, 3, 3, 4, 0},
    /* 12 */ {OP_JMP, 0, 0, 0, 14},
    /* 13 even */ {OP_SHR, 3, 3, 4, 0},
    /* 14 */ {OP_ADD, 2, 2, 4, 0},
    /* 15 */ {OP_JMP, 0, 0, 0, 7},
    /* 16 next */ {OP_ADD, 0, 0, 4, 0},
    /* 17 */ {OP_BLT, 0, 1, 0, 6},
    /* 18 */ {OP_HALT, 0, 0, 0, 0},
};

static insn_t code[sizeof program / sizeof program[0]];

static uint64_t execute(const insn_t *pc0, uint64_t *r) {
  const insn_t *pc = pc0;
  for (;;) {
    const insn_t *i = pc++;
    switch (i->op) {
      case OP_LI: r[i->a] = (uint64_t)(int64_t)i->imm; break;
      case OP_ADD: r[i->a] = r[i->b] + r[i->c]; break;
      case OP_MUL: r[i->a] = r[i->b] * r[i->c]; break;
      case OP_AND: r[i->a] = r[i->b] & r[i->c]; break;
      case OP_SHR: r[i->a] = r[i->b] >> r[i->c]; break;
      case OP_BEQ: if (r[i->a] == r[i->b]) pc = pc0 + i->imm; break;
      case OP_BLT: if (r[i->a] < r[i->b]) pc = pc0 + i->imm; break;
      case OP_JMP: pc = pc0 + i->imm; break;
      case OP_HALT: return r[2];
      default: return 0;
    }
  }
}

uint32_t run(void) {
  for (size_t i = 0; i < sizeof program / sizeof program[0]; i++) code[i] = program[i];
  code[1].imm = 40000 * BENCH_SCALE;
  uint64_t regs[8] = {0};
  uint64_t steps = execute(code, regs);
  return bench_mix(bench_mix(2166136261u, (uint32_t)steps), (uint32_t)(steps >> 32));
}
