package io.portcullis.policy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/** Fixed-seed mutations of text inputs for the plain-test half of the fuzz tests (Jazzer does its own). */
final class Mutations {

    /** Snippets that tend to matter to YAML and to the policy language. */
    private static final String[] SNIPPETS = {
        "&a ", "*a", "[", "]", "{", "}", ": ", "- ", "\n", "\n  ", "\t", "'", "\"", "#", "? ", "!!str ", "!list:x ",
        "<<: *a", "---\n", "...\n", "%YAML 1.1\n", "\\", "\u0000", "\uFEFF", "\u00e9", "\ud83d\ude00", "::1",
        "list:", "!list:office", "none", "0xEA", "hex:0F", "24:00", "mon-fri", "source-cidr/24", "10/s", "0",
        "-1", "99999999999", "file", "{file: blocked.txt}", "name", "default", "reject", "rules", "listeners",
    };

    private Mutations() {
    }

    /** One to four mutations of {@code seed}; {@code others} are spliced from. */
    static byte[] mutate(byte[] seed, List<byte[]> others, Random random) {
        byte[] data = seed;
        int rounds = 1 + random.nextInt(4);
        for (int r = 0; r < rounds; r++) {
            data = switch (random.nextInt(7)) {
                case 0 -> flip(data, random);
                case 1 -> insert(data, SNIPPETS[random.nextInt(SNIPPETS.length)].getBytes(StandardCharsets.UTF_8), random);
                case 2 -> lines(data, random);
                case 3 -> splice(data, others.get(random.nextInt(others.size())), random);
                case 4 -> delete(data, random);
                case 5 -> repeat(data, random);
                default -> insert(data, new byte[] {(byte) random.nextInt(256)}, random);
            };
        }
        return data;
    }

    /** The input for a failure message: UTF-8 with replacement, at most 1 KiB. */
    static String show(byte[] input) {
        String text = new String(input, 0, Math.min(input.length, 1024), StandardCharsets.UTF_8);
        return input.length > 1024 ? text + "…(" + input.length + " bytes)" : text;
    }

    private static byte[] flip(byte[] data, Random random) {
        if (data.length == 0) {
            return data;
        }
        byte[] copy = data.clone();
        copy[random.nextInt(copy.length)] ^= (byte) (1 + random.nextInt(255));
        return copy;
    }

    private static byte[] insert(byte[] data, byte[] what, Random random) {
        int at = random.nextInt(data.length + 1);
        ByteArrayOutputStream out = new ByteArrayOutputStream(data.length + what.length);
        out.write(data, 0, at);
        out.write(what, 0, what.length);
        out.write(data, at, data.length - at);
        return out.toByteArray();
    }

    private static byte[] delete(byte[] data, Random random) {
        if (data.length == 0) {
            return data;
        }
        int at = random.nextInt(data.length);
        int n = Math.min(data.length - at, 1 + random.nextInt(16));
        byte[] copy = Arrays.copyOf(data, data.length - n);
        System.arraycopy(data, at + n, copy, at, data.length - at - n);
        return copy;
    }

    /** A range of bytes repeated a few times (long scalars, long lists, deep nesting). */
    private static byte[] repeat(byte[] data, Random random) {
        if (data.length == 0) {
            return data;
        }
        int at = random.nextInt(data.length);
        int n = Math.min(data.length - at, 1 + random.nextInt(8));
        byte[] piece = Arrays.copyOfRange(data, at, at + n);
        int times = 1 + random.nextInt(random.nextInt(10) == 0 ? 2_000 : 20);
        byte[] many = new byte[piece.length * times];
        for (int i = 0; i < times; i++) {
            System.arraycopy(piece, 0, many, i * piece.length, piece.length);
        }
        return insert(data, many, random);
    }

    /** A line swapped, dropped or duplicated, or its indentation changed. */
    private static byte[] lines(byte[] data, Random random) {
        List<String> lines = new ArrayList<>(Arrays.asList(new String(data, StandardCharsets.UTF_8).split("\n", -1)));
        int i = random.nextInt(lines.size());
        int j = random.nextInt(lines.size());
        switch (random.nextInt(4)) {
            case 0 -> {
                String line = lines.get(i);
                lines.set(i, lines.get(j));
                lines.set(j, line);
            }
            case 1 -> lines.remove(i);
            case 2 -> lines.add(j, lines.get(i));
            default -> lines.set(i, random.nextBoolean() ? "  " + lines.get(i) : lines.get(i).stripLeading());
        }
        return String.join("\n", lines).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] splice(byte[] data, byte[] other, Random random) {
        if (other.length == 0) {
            return data;
        }
        int from = random.nextInt(other.length);
        int n = Math.min(other.length - from, 1 + random.nextInt(200));
        return insert(data, Arrays.copyOfRange(other, from, from + n), random);
    }
}
