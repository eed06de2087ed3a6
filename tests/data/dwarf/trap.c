// A C program that divides by zero after warming up, built with DWARF for the source-line tests
// (tests/debuginfo.rs, cli/tests/cli.rs). Rebuild with build.sh beside it.
//
// Run without arguments it computes 100 averages, then one of zero values: `divide` traps at its
// division, called from `average`, called from `main`.

__attribute__((noinline)) static int divide(int sum, int count) {
    return sum / count;
}

__attribute__((noinline)) static int average(const int *values, int count) {
    int sum = 0;
    for (int i = 0; i < count; i++) {
        sum += values[i];
    }
    return divide(sum, count);
}

int main(int argc, char **argv) {
    (void)argv;
    int values[4] = {3, 1, 4, 1};
    int total = 0;
    for (int round = 100; round >= 0; round--) {
        int count = round > 0 ? 1 + round % 4 : argc - 1;
        total += average(values, count);
    }
    return total & 0x7f;
}
