// A small register-machine bytecode interpreter: one big `switch` in a loop, running a program that
// is assembled at start-up from hand-written routines (Collatz, gcd, a memory sweep) and a block of
// random arithmetic generated from a fixed seed.
// Usage: vm N  -- runs the program's main loop N times; prints registers, a memory digest and the
// number of bytecode instructions executed.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

enum op {
    OP_HALT, OP_LOADI, OP_MOV, OP_ADD, OP_SUB, OP_MUL, OP_DIVU, OP_REMU, OP_AND, OP_OR, OP_XOR,
    OP_SHL, OP_SHRU, OP_ROTL, OP_ADDI, OP_MULI, OP_XORI, OP_ANDI, OP_SHRI, OP_NEG, OP_NOT, OP_MIN,
    OP_MAX, OP_EQ, OP_LTU, OP_LOAD, OP_STORE, OP_JMP, OP_JZ, OP_JNZ, OP_JLTU, OP_JGEU, OP_JEQI,
    OP_CALL, OP_RET, OP_PUSH, OP_POP, OP_INC, OP_DEC,
    OP_COUNT
};

struct insn {
    uint8_t op, a, b, c;
    int32_t imm;
};

#define NREGS 16
#define MEMWORDS 1024
#define MAXCODE 4096
#define STACK 256

static struct insn code[MAXCODE];
static int ncode;

static int emit(uint8_t op, uint8_t a, uint8_t b, uint8_t c, int32_t imm) {
    if (ncode >= MAXCODE) {
        fprintf(stderr, "program too long\n");
        exit(1);
    }
    code[ncode] = (struct insn){op, a, b, c, imm};
    return ncode++;
}

static uint32_t seed = 0x9e3779b9u;
static uint32_t rnd(void) {
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    return seed;
}

// Registers: r0 = loop counter, r1 = limit, r2 = argument, r3..r9 scratch, r10 = accumulator,
// r11 = collatz total, r12 = gcd total, r13..r15 random-block registers.
static int assemble(void) {
    // main:
    emit(OP_LOADI, 0, 0, 0, 0);                       // r0 = 0
    emit(OP_LOADI, 10, 0, 0, 1);                      // acc = 1
    int loop = emit(OP_JGEU, 0, 1, 0, 0);             // if r0 >= r1 goto end (patched)
    emit(OP_LOADI, 5, 0, 0, 50000);                   // r2 = r0 % 50000 + 27: the Collatz
    emit(OP_REMU, 2, 0, 5, 0);                        // trajectories then stay below 2^32
    emit(OP_ADDI, 2, 2, 0, 27);
    int call_collatz = emit(OP_CALL, 0, 0, 0, 0);     // patched
    emit(OP_MOV, 2, 10, 0, 0);                        // r2 = acc
    int call_gcd = emit(OP_CALL, 0, 0, 0, 0);         // patched
    int call_block = emit(OP_CALL, 0, 0, 0, 0);       // patched
    emit(OP_ANDI, 3, 0, 0, 15);                       // every 16th iteration: memory sweep
    int skip_sweep = emit(OP_JNZ, 3, 0, 0, 0);
    int call_sweep = emit(OP_CALL, 0, 0, 0, 0);       // patched
    code[skip_sweep].imm = ncode;
    emit(OP_INC, 0, 0, 0, 0);
    emit(OP_JMP, 0, 0, 0, loop);
    code[loop].imm = emit(OP_HALT, 0, 0, 0, 0);

    // collatz(r2): r11 += steps to reach 1; acc = rotl(acc, 5) ^ steps
    code[call_collatz].imm = ncode;
    emit(OP_LOADI, 3, 0, 0, 0);                       // steps
    int c_loop = emit(OP_JEQI, 2, 0, 0, 1);           // while r2 != 1 (patched target)
    emit(OP_ANDI, 4, 2, 0, 1);
    int c_odd = emit(OP_JNZ, 4, 0, 0, 0);
    emit(OP_SHRI, 2, 2, 0, 1);                        // even: r2 >>= 1
    int c_next = emit(OP_JMP, 0, 0, 0, 0);
    code[c_odd].imm = ncode;
    emit(OP_MULI, 2, 2, 0, 3);                        // odd: r2 = 3 r2 + 1
    emit(OP_INC, 2, 0, 0, 0);
    code[c_next].imm = ncode;
    emit(OP_INC, 3, 0, 0, 0);
    emit(OP_JMP, 0, 0, 0, c_loop);
    code[c_loop].b = 0;
    code[c_loop].c = 0;
    int c_done = ncode;
    emit(OP_ADD, 11, 11, 3, 0);
    emit(OP_LOADI, 4, 0, 0, 5);
    emit(OP_ROTL, 10, 10, 4, 0);
    emit(OP_XOR, 10, 10, 3, 0);
    emit(OP_RET, 0, 0, 0, 0);
    // JEQI encodes its target in b:c (16 bits) since imm holds the compared constant.
    code[c_loop].b = (uint8_t)(c_done & 0xff);
    code[c_loop].c = (uint8_t)(c_done >> 8);

    // gcd(r2 | 1, r0 + 1) by remainders: r12 += gcd; acc += gcd
    code[call_gcd].imm = ncode;
    emit(OP_LOADI, 5, 0, 0, 1);
    emit(OP_OR, 3, 2, 5, 0);                          // a = r2 | 1
    emit(OP_ADDI, 4, 0, 0, 1);                        // b = r0 + 1
    int g_loop = emit(OP_JZ, 4, 0, 0, 0);             // while b != 0 (patched)
    emit(OP_REMU, 5, 3, 4, 0);
    emit(OP_MOV, 3, 4, 0, 0);
    emit(OP_MOV, 4, 5, 0, 0);
    emit(OP_JMP, 0, 0, 0, g_loop);
    code[g_loop].imm = ncode;
    emit(OP_ADD, 12, 12, 3, 0);
    emit(OP_ADD, 10, 10, 3, 0);
    emit(OP_RET, 0, 0, 0, 0);

    // random block: straight-line arithmetic on r13..r15, acc and memory
    code[call_block].imm = ncode;
    emit(OP_XOR, 13, 13, 10, 0);
    for (int i = 0; i < 48; i++) {
        uint32_t r = rnd();
        uint8_t d = (uint8_t)(13 + r % 3), s1 = (uint8_t)(10 + (r >> 4) % 6), s2 = (uint8_t)(13 + (r >> 8) % 3);
        int32_t imm = (int32_t)((r >> 12) % 1000) + 1;
        static const uint8_t ops[] = {OP_ADD, OP_SUB, OP_MUL, OP_XOR, OP_AND, OP_OR, OP_ROTL, OP_MIN,
                                      OP_MAX, OP_EQ, OP_LTU, OP_ADDI, OP_MULI, OP_XORI, OP_SHRI,
                                      OP_NOT, OP_NEG, OP_LOAD, OP_STORE, OP_DIVU, OP_SHL, OP_SHRU};
        uint8_t op = ops[(r >> 24) % sizeof(ops)];
        if (op == OP_SHRI) imm &= 31;
        if (op == OP_DIVU) {
            // divisor made non-zero first
            emit(OP_LOADI, 9, 0, 0, 1);
            emit(OP_OR, 9, s2, 9, 0);
            emit(OP_DIVU, d, s1, 9, 0);
        } else {
            emit(op, d, s1, s2, imm);
        }
    }
    emit(OP_ADD, 10, 10, 14, 0);
    emit(OP_XOR, 10, 10, 15, 0);
    emit(OP_RET, 0, 0, 0, 0);

    // memory sweep: mem[i] = mem[i] * 31 + acc + i for every word; acc ^= last
    code[call_sweep].imm = ncode;
    emit(OP_LOADI, 6, 0, 0, 0);
    emit(OP_LOADI, 7, 0, 0, MEMWORDS);
    int s_loop = emit(OP_JGEU, 6, 7, 0, 0);           // patched
    emit(OP_LOAD, 8, 6, 0, 0);
    emit(OP_MULI, 8, 8, 0, 31);
    emit(OP_ADD, 8, 8, 10, 0);
    emit(OP_ADD, 8, 8, 6, 0);
    emit(OP_STORE, 0, 6, 8, 0);
    emit(OP_INC, 6, 0, 0, 0);
    emit(OP_JMP, 0, 0, 0, s_loop);
    code[s_loop].imm = ncode;
    emit(OP_XOR, 10, 10, 8, 0);
    emit(OP_RET, 0, 0, 0, 0);
    return ncode;
}

static uint32_t mem[MEMWORDS];

static uint64_t run(uint32_t *r) {
    uint32_t stack[STACK];
    int sp = 0;
    int pc = 0;
    uint64_t executed = 0;
    for (;;) {
        const struct insn *in = &code[pc++];
        executed++;
        uint32_t *d = &r[in->a];
        uint32_t x = r[in->b], y = r[in->c];
        switch (in->op) {
        case OP_HALT: return executed;
        case OP_LOADI: *d = (uint32_t)in->imm; break;
        case OP_MOV: *d = x; break;
        case OP_ADD: *d = x + y; break;
        case OP_SUB: *d = x - y; break;
        case OP_MUL: *d = x * y; break;
        case OP_DIVU: *d = y ? x / y : 0; break;
        case OP_REMU: *d = y ? x % y : 0; break;
        case OP_AND: *d = x & y; break;
        case OP_OR: *d = x | y; break;
        case OP_XOR: *d = x ^ y; break;
        case OP_SHL: *d = x << (y & 31); break;
        case OP_SHRU: *d = x >> (y & 31); break;
        case OP_ROTL: *d = (x << (y & 31)) | (x >> ((32 - (y & 31)) & 31)); break;
        case OP_ADDI: *d = x + (uint32_t)in->imm; break;
        case OP_MULI: *d = x * (uint32_t)in->imm; break;
        case OP_XORI: *d = x ^ (uint32_t)in->imm; break;
        case OP_ANDI: *d = x & (uint32_t)in->imm; break;
        case OP_SHRI: *d = x >> (in->imm & 31); break;
        case OP_NEG: *d = 0u - x; break;
        case OP_NOT: *d = ~x; break;
        case OP_MIN: *d = x < y ? x : y; break;
        case OP_MAX: *d = x > y ? x : y; break;
        case OP_EQ: *d = x == y; break;
        case OP_LTU: *d = x < y; break;
        case OP_LOAD: *d = mem[x % MEMWORDS]; break;
        case OP_STORE: mem[x % MEMWORDS] = y; break;
        case OP_JMP: pc = in->imm; break;
        case OP_JZ: if (*d == 0) pc = in->imm; break;
        case OP_JNZ: if (*d != 0) pc = in->imm; break;
        case OP_JLTU: if (*d < x) pc = in->imm; break;
        case OP_JGEU: if (*d >= x) pc = in->imm; break;
        case OP_JEQI: if (*d == (uint32_t)in->imm) pc = in->b | (in->c << 8); break;
        case OP_CALL:
            if (sp >= STACK) { fprintf(stderr, "vm stack overflow\n"); exit(1); }
            stack[sp++] = (uint32_t)pc;
            pc = in->imm;
            break;
        case OP_RET: pc = (int)stack[--sp]; break;
        case OP_PUSH: stack[sp++] = *d; break;
        case OP_POP: *d = stack[--sp]; break;
        case OP_INC: (*d)++; break;
        case OP_DEC: (*d)--; break;
        default: fprintf(stderr, "bad opcode %d at %d\n", in->op, pc - 1); exit(1);
        }
    }
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000;
    if (n < 1 || n > 100000000) {
        fprintf(stderr, "usage: vm N (1 <= N <= 100000000)\n");
        return 2;
    }
    int len = assemble();
    uint32_t r[NREGS] = {0};
    r[1] = (uint32_t)n;
    r[13] = 0x1234567u;
    r[14] = 0x89abcdefu;
    r[15] = 0xdeadbeefu;
    uint64_t executed = run(r);
    uint32_t digest = 2166136261u;
    for (int i = 0; i < MEMWORDS; i++) {
        digest = (digest ^ mem[i]) * 16777619u;
    }
    printf("program: %d instructions\n", len);
    printf("executed: %" PRIu64 " instructions\n", executed);
    for (int i = 0; i < NREGS; i += 4) {
        printf("r%-2d..r%-2d: %08" PRIx32 " %08" PRIx32 " %08" PRIx32 " %08" PRIx32 "\n", i, i + 3, r[i],
               r[i + 1], r[i + 2], r[i + 3]);
    }
    printf("collatz steps = %" PRIu32 ", gcd sum = %" PRIu32 ", memory digest = %08" PRIx32 "\n", r[11],
           r[12], digest);
    return 0;
}
