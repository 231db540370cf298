package io.portcullis.core;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * A classic BPF socket filter that drops IPv4 packets from given source ranges. Attached to a listening socket
 * ({@link Listener#filterSources}), the kernel drops a denied client's SYN before it answers it: no SYN-ACK, no
 * accept, no file descriptor, no reset; the client's connect times out. Everything else passes, IPv6 included.
 *
 * <p>Written by hand because no library compiles an address list to classic BPF: the program is a balanced
 * compare tree over sorted, disjoint ranges, a few dozen instructions deep for a thousand ranges. The kernel
 * takes at most {@value #MAX_INSTRUCTIONS} instructions; past that, the widest ranges are kept (they turn away
 * the most addresses) and the rest are left to the rules in user space, which check every range anyway.
 *
 * <p>Immutable; any thread.
 */
public final class SourceFilter {

    /** The kernel's limit on a classic BPF program ({@code BPF_MAXINSNS}). */
    public static final int MAX_INSTRUCTIONS = 4096;

    // Classic BPF opcodes (linux/filter.h, linux/bpf_common.h).
    static final int LD_B_ABS = 0x30;
    static final int LD_W_ABS = 0x20;
    static final int ALU_AND_K = 0x54;
    static final int JMP_JA = 0x05;
    static final int JMP_JEQ_K = 0x15;
    static final int JMP_JGT_K = 0x25;
    static final int JMP_JGE_K = 0x35;
    static final int RET_K = 0x06;
    /** {@code SKF_NET_OFF}: loads relative to the network header, whatever the socket's layer. */
    static final int NET_OFF = -0x100000;
    static final int PASS = -1;
    static final int DROP = 0;
    /** Version check and source load before the tree. */
    private static final int PROLOGUE = 5;
    /** The largest jump a conditional instruction can make. */
    private static final int MAX_SHORT_JUMP = 255;
    /** Tree sizes by range count, grown as needed: the layout depends only on the count. */
    private static int[] sizes = {1};
    private static final int CAPACITY = fit();

    private final int[] first;
    private final int[] last;
    private final int asked;
    private final int[] code;

    private SourceFilter(int[] first, int[] last, int asked) {
        this.first = first;
        this.last = last;
        this.asked = asked;
        this.code = assemble(first, last);
    }

    /**
     * The filter for IPv4 ranges given as first and last addresses (unsigned 32-bit), sorted by first address,
     * disjoint. When more ranges are given than fit, the widest are kept.
     *
     * @param first the first address of each range
     * @param last  the last address of each range
     * @return the filter
     * @throws IllegalArgumentException when the arrays differ in length, or ranges are unsorted, empty or overlap
     */
    public static SourceFilter ofIpv4Ranges(int[] first, int[] last) {
        if (first.length != last.length) {
            throw new IllegalArgumentException("first and last addresses differ in number");
        }
        for (int i = 0; i < first.length; i++) {
            if (Integer.compareUnsigned(first[i], last[i]) > 0) {
                throw new IllegalArgumentException("range " + i + " ends before it starts");
            }
            if (i > 0 && Integer.compareUnsigned(last[i - 1], first[i]) >= 0) {
                throw new IllegalArgumentException("range " + i + " is not after range " + (i - 1));
            }
        }
        int fit = capacity();
        if (first.length <= fit) {
            return new SourceFilter(first.clone(), last.clone(), first.length);
        }
        int[] widest = IntStream.range(0, first.length).boxed()
                .sorted(Comparator.comparingLong((Integer i) -> width(first[i], last[i])).reversed())
                .limit(fit).mapToInt(Integer::intValue).sorted().toArray();
        int[] keptFirst = new int[fit];
        int[] keptLast = new int[fit];
        for (int k = 0; k < fit; k++) {
            keptFirst[k] = first[widest[k]];
            keptLast[k] = last[widest[k]];
        }
        return new SourceFilter(keptFirst, keptLast, first.length);
    }

    /**
     * The most ranges one program holds.
     *
     * @return the number of ranges
     */
    public static int capacity() {
        return CAPACITY;
    }

    private static int fit() {
        int n = 0;
        while (PROLOGUE + size(n + 1) <= MAX_INSTRUCTIONS) {
            n++;
        }
        return n;
    }

    private static long width(int first, int last) {
        return (last & 0xFFFF_FFFFL) - (first & 0xFFFF_FFFFL) + 1;
    }

    /**
     * Ranges the program drops.
     *
     * @return the count
     */
    public int ranges() {
        return first.length;
    }

    /**
     * Ranges asked for; more than {@link #ranges()} when not all fit.
     *
     * @return the count
     */
    public int rangesAsked() {
        return asked;
    }

    /**
     * Whether the filter drops nothing (detaching is the same).
     *
     * @return true when it has no range
     */
    public boolean isEmpty() {
        return first.length == 0;
    }

    /**
     * Instructions of the program.
     *
     * @return the count
     */
    public int instructions() {
        return code.length / 4;
    }

    /**
     * The program as {@code struct sock_filter} fields, four ints an instruction: code, jt, jf, k.
     *
     * @return a copy
     */
    int[] program() {
        return code.clone();
    }

    /** Instructions of the tree for {@code n} ranges. */
    private static synchronized int size(int n) {
        if (n >= sizes.length) {
            int from = sizes.length;
            sizes = Arrays.copyOf(sizes, Math.max(n + 1, from * 2));
            for (int k = from; k < sizes.length; k++) {
                int left = (k - 1) / 2;
                int right = k - 1 - left;
                sizes[k] = 3 + (trampoline(sizes[left]) ? 1 : 0) + sizes[left] + sizes[right];
            }
        }
        return sizes[n];
    }

    /** Whether the jump over the drop and a left subtree of this size needs an unconditional jump. */
    private static boolean trampoline(int leftSize) {
        return leftSize + 1 > MAX_SHORT_JUMP;
    }

    private static int[] assemble(int[] first, int[] last) {
        int[] out = new int[(PROLOGUE + size(first.length)) * 4];
        int at = 0;
        // IPv4 only: the first nibble of the network header is the IP version.
        at = put(out, at, LD_B_ABS, 0, 0, NET_OFF);
        at = put(out, at, ALU_AND_K, 0, 0, 0xF0);
        at = put(out, at, JMP_JEQ_K, 1, 0, 0x40);
        at = put(out, at, RET_K, 0, 0, PASS);
        at = put(out, at, LD_W_ABS, 0, 0, NET_OFF + 12);
        at = tree(out, at, first, last, 0, first.length - 1);
        if (at != out.length) {
            throw new IllegalStateException("program of " + at / 4 + " instructions, expected " + out.length / 4);
        }
        return out;
    }

    /**
     * Emits the tree for ranges {@code lo..hi}: at the middle range, below its first address the left subtree,
     * above its last the right one, inside it the drop. Empty subtrees pass.
     */
    private static int tree(int[] out, int at, int[] first, int[] last, int lo, int hi) {
        if (lo > hi) {
            return put(out, at, RET_K, 0, 0, PASS);
        }
        int mid = lo + (hi - lo) / 2;
        int leftSize = size(mid - lo);
        boolean far = trampoline(leftSize);
        // below first -> left subtree, after the next one or two instructions and the drop
        at = put(out, at, JMP_JGE_K, 0, far ? 3 : 2, first[mid]);
        if (far) {
            at = put(out, at, JMP_JGT_K, 0, 1, last[mid]);
            at = put(out, at, JMP_JA, 0, 0, 1 + leftSize);
        } else {
            at = put(out, at, JMP_JGT_K, 1 + leftSize, 0, last[mid]);
        }
        at = put(out, at, RET_K, 0, 0, DROP);
        at = tree(out, at, first, last, lo, mid - 1);
        return tree(out, at, first, last, mid + 1, hi);
    }

    private static int put(int[] out, int at, int code, int jt, int jf, int k) {
        out[at] = code;
        out[at + 1] = jt;
        out[at + 2] = jf;
        out[at + 3] = k;
        return at + 4;
    }

    @Override
    public String toString() {
        return "SourceFilter[" + first.length + " of " + asked + " IPv4 ranges, " + instructions() + " instructions]";
    }
}
