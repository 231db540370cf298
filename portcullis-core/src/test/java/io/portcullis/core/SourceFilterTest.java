package io.portcullis.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The program, run by a classic BPF interpreter written from the kernel's rules (linux/filter.h): every address
 * of a random range set is judged as a binary search over the ranges judges it, at every boundary, across the
 * sizes where the layout changes (trampolines, the capacity).
 */
class SourceFilterTest {

    private static final int IPV4 = 0x45;
    private static final int IPV6 = 0x60;

    @Test
    void dropsExactlyTheRangesAtEveryBoundary() {
        Random random = new Random(42);
        for (int n : new int[] {0, 1, 2, 3, 7, 63, 64, 65, 200, 500, SourceFilter.capacity()}) {
            int[][] ranges = randomRanges(random, n);
            SourceFilter filter = SourceFilter.ofIpv4Ranges(ranges[0], ranges[1]);
            assertThat(filter.ranges()).isEqualTo(n);
            assertThat(filter.instructions()).isLessThanOrEqualTo(SourceFilter.MAX_INSTRUCTIONS);
            int[] program = filter.program();
            for (int i = 0; i < n; i++) {
                for (int address : new int[] {ranges[0][i] - 1, ranges[0][i], ranges[1][i], ranges[1][i] + 1,
                        ranges[0][i] + (ranges[1][i] - ranges[0][i]) / 2}) {
                    assertThat(run(program, IPV4, address)).as("n=%d, address %s", n, Integer.toUnsignedString(address))
                            .isEqualTo(inside(ranges, address) ? SourceFilter.DROP : SourceFilter.PASS);
                }
            }
            for (int k = 0; k < 2000; k++) {
                int address = random.nextInt();
                assertThat(run(program, IPV4, address)).isEqualTo(inside(ranges, address) ? SourceFilter.DROP : SourceFilter.PASS);
            }
        }
    }

    @Test
    void theEndsOfTheAddressSpace() {
        SourceFilter all = SourceFilter.ofIpv4Ranges(new int[] {0}, new int[] {-1});
        assertThat(run(all.program(), IPV4, 0)).isEqualTo(SourceFilter.DROP);
        assertThat(run(all.program(), IPV4, -1)).isEqualTo(SourceFilter.DROP);
        SourceFilter ends = SourceFilter.ofIpv4Ranges(new int[] {0, -1}, new int[] {0, -1});
        assertThat(run(ends.program(), IPV4, 0)).isEqualTo(SourceFilter.DROP);
        assertThat(run(ends.program(), IPV4, 1)).isEqualTo(SourceFilter.PASS);
        assertThat(run(ends.program(), IPV4, -2)).isEqualTo(SourceFilter.PASS);
        assertThat(run(ends.program(), IPV4, -1)).isEqualTo(SourceFilter.DROP);
    }

    /** IPv6 packets (a dual-stack listener) pass, whatever their bytes where an IPv4 source would be. */
    @Test
    void ipv6PacketsPass() {
        SourceFilter all = SourceFilter.ofIpv4Ranges(new int[] {0}, new int[] {-1});
        assertThat(run(all.program(), IPV6, 0x7f000002)).isEqualTo(SourceFilter.PASS);
    }

    /** Past the capacity the widest ranges are kept: they turn away the most addresses. */
    @Test
    void pastTheCapacityTheWidestRangesStay() {
        int n = 50_000;
        int[] first = new int[n];
        int[] last = new int[n];
        for (int i = 0; i < n; i++) {
            first[i] = 0x0A000000 + i * 256;
            last[i] = first[i] + (i % 100 == 0 ? 255 : 0);    // every hundredth a /24, the rest single addresses
        }
        SourceFilter filter = SourceFilter.ofIpv4Ranges(first, last);
        assertThat(filter.rangesAsked()).isEqualTo(n);
        assertThat(filter.ranges()).isEqualTo(SourceFilter.capacity()).isGreaterThan(800);
        assertThat(filter.instructions()).isLessThanOrEqualTo(SourceFilter.MAX_INSTRUCTIONS);
        int[] program = filter.program();
        for (int i = 0; i < n; i += 100) {
            assertThat(run(program, IPV4, first[i] + 7)).as("/24 number %d", i / 100).isEqualTo(SourceFilter.DROP);
        }
    }

    @Test
    void refusesRangesThatAreNotSortedAndDisjoint() {
        assertThatThrownBy(() -> SourceFilter.ofIpv4Ranges(new int[] {5, 1}, new int[] {6, 2}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SourceFilter.ofIpv4Ranges(new int[] {1, 5}, new int[] {5, 6}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SourceFilter.ofIpv4Ranges(new int[] {7}, new int[] {6}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SourceFilter.ofIpv4Ranges(new int[] {7}, new int[0]))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static boolean inside(int[][] ranges, int address) {
        for (int i = 0; i < ranges[0].length; i++) {
            if (Integer.compareUnsigned(address, ranges[0][i]) >= 0 && Integer.compareUnsigned(address, ranges[1][i]) <= 0) {
                return true;
            }
        }
        return false;
    }

    /** {@code n} sorted disjoint ranges, with gaps of every size down to adjacent-but-one. */
    private static int[][] randomRanges(Random random, int n) {
        TreeMap<Long, Long> picked = new TreeMap<>();
        long cursor = random.nextInt(1000);
        long step = n == 0 ? 1 : (1L << 32) / (n + 1);
        for (int i = 0; i < n; i++) {
            long start = cursor + 1 + random.nextInt((int) Math.max(1, Math.min(step / 2, Integer.MAX_VALUE)));
            long end = start + random.nextInt((int) Math.max(1, Math.min(step / 4, Integer.MAX_VALUE)));
            picked.put(start, end);
            cursor = end + 1;
        }
        int[][] out = new int[2][n];
        int i = 0;
        for (var e : picked.entrySet()) {
            out[0][i] = (int) (long) e.getKey();
            out[1][i] = (int) (long) e.getValue();
            i++;
        }
        assertThat(cursor).isLessThan(1L << 32);
        return out;
    }

    /** Runs a socket filter on a packet whose network header has {@code firstByte} and IPv4 source {@code source}. */
    static int run(int[] program, int firstByte, int source) {
        byte[] net = new byte[40];
        net[0] = (byte) firstByte;
        net[12] = (byte) (source >>> 24);
        net[13] = (byte) (source >>> 16);
        net[14] = (byte) (source >>> 8);
        net[15] = (byte) source;
        int a = 0;
        int pc = 0;
        int steps = 0;
        while (true) {
            assertThat(pc).as("program counter").isBetween(0, program.length / 4 - 1);
            assertThat(++steps).as("steps").isLessThan(100);
            int code = program[pc * 4];
            int jt = program[pc * 4 + 1];
            int jf = program[pc * 4 + 2];
            int k = program[pc * 4 + 3];
            assertThat(jt).isBetween(0, 255);
            assertThat(jf).isBetween(0, 255);
            pc++;
            switch (code) {
                case SourceFilter.LD_B_ABS -> a = net[k - SourceFilter.NET_OFF] & 0xff;
                case SourceFilter.LD_W_ABS -> {
                    int at = k - SourceFilter.NET_OFF;
                    a = (net[at] & 0xff) << 24 | (net[at + 1] & 0xff) << 16 | (net[at + 2] & 0xff) << 8 | (net[at + 3] & 0xff);
                }
                case SourceFilter.ALU_AND_K -> a &= k;
                case SourceFilter.JMP_JA -> pc += k;
                case SourceFilter.JMP_JEQ_K -> pc += a == k ? jt : jf;
                case SourceFilter.JMP_JGT_K -> pc += Integer.compareUnsigned(a, k) > 0 ? jt : jf;
                case SourceFilter.JMP_JGE_K -> pc += Integer.compareUnsigned(a, k) >= 0 ? jt : jf;
                case SourceFilter.RET_K -> {
                    return k;
                }
                default -> throw new AssertionError("opcode " + Integer.toHexString(code) + " at " + (pc - 1)
                        + " of " + Arrays.toString(Arrays.copyOf(program, 8)));
            }
        }
    }
}
