package io.portcullis.policy.yaml;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Reads a list file — one address or CIDR a line, or one JA4 fingerprint a line (one kind a file, see
 * {@link ListContents}); {@code #} starts a comment (a whole line or the rest of one); blank lines and
 * surrounding white space are ignored — straight into a {@link ListContents}, without SnakeYAML and,
 * for plain IPv4 entries, without an object per line: a million entries load in a fraction of a second
 * once the JIT has warmed up. Errors are reported as {@code FILE:LINE:COLUMN: message}, FILE resolved
 * against the rules file's directory. Bounded: {@link YamlLimits#MAX_LIST_FILE_SIZE} bytes,
 * {@link YamlLimits#MAX_LIST_FILE_ENTRIES} entries ({@link YamlLimits#MAX_LIST_FILE_FINGERPRINTS} of
 * fingerprints), {@link YamlLimits#MAX_LIST_LINE} bytes a line.
 */
final class ListFile {

    private final Path path;
    private final String displayName;
    private final Problems problems;
    private final ListContents contents = new ListContents();
    private int entries;
    private boolean stopped;

    private ListFile(Path path, String displayName, Problems problems) {
        this.path = path;
        this.displayName = displayName;
        this.problems = problems;
    }

    /**
     * Reads the file. Wrong lines are reported to {@code problems} at their line and column in the
     * list file; a file that cannot be read at all comes back as {@link Result#unreadable()}, which the
     * caller reports where the rules file names the file.
     *
     * @return the entries (without the wrong lines), or why the file could not be read
     */
    static Result read(Path path, String displayName, Problems problems) {
        ListFile file = new ListFile(path, displayName, problems);
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            // Opening a pipe would wait for a writer, reading a device might never end.
            return new Result(new ListContents(), Optional.of("not a regular file (a directory, a pipe or a device)"));
        }
        try (InputStream in = Files.newInputStream(path)) {
            file.scan(in);
        } catch (NoSuchFileException e) {
            return new Result(new ListContents(), Optional.of("no such file"));
        } catch (AccessDeniedException e) {
            return new Result(new ListContents(), Optional.of("permission denied"));
        } catch (IOException e) {
            return new Result(new ListContents(), Optional.of(String.valueOf(e.getMessage())));
        }
        return new Result(file.contents, Optional.empty());
    }

    /** The entries read, and why the file could not be read, if it could not. */
    record Result(ListContents contents, Optional<String> unreadable) {
    }

    /**
     * Splits the stream into lines in a buffer and hands each to {@link #line}. The per-byte work is in
     * small methods called once a line, so the JIT compiles it within the first thousand lines.
     */
    private void scan(InputStream in) throws IOException {
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        int carry = 0;
        int lineNumber = 1;
        boolean skipping = false; // inside a line that was too long, up to its newline
        boolean first = true;
        int n;
        while (!stopped && (n = in.read(buffer, carry, buffer.length - carry)) > 0) {
            total += n;
            if (total > YamlLimits.MAX_LIST_FILE_SIZE) {
                problems.add(displayName, 1, 1, "the list file is larger than " + (YamlLimits.MAX_LIST_FILE_SIZE >> 20)
                        + " MiB; refusing to read it");
                return;
            }
            int limit = carry + n;
            int start = 0;
            if (first) {
                first = false;
                if (limit >= 3 && buffer[0] == (byte) 0xEF && buffer[1] == (byte) 0xBB && buffer[2] == (byte) 0xBF) {
                    start = 3; // UTF-8 byte order mark
                }
            }
            while (!stopped) {
                int newline = indexOfNewline(buffer, start, limit);
                if (newline < 0) {
                    break;
                }
                if (skipping) {
                    skipping = false;
                } else {
                    line(buffer, start, newline, lineNumber);
                }
                lineNumber++;
                start = newline + 1;
            }
            carry = limit - start;
            if (skipping || carry > YamlLimits.MAX_LIST_LINE) {
                if (!skipping) {
                    tooLong(lineNumber);
                    skipping = true;
                }
                carry = 0;
            } else {
                System.arraycopy(buffer, start, buffer, 0, carry);
            }
        }
        if (!stopped && carry > 0) {
            line(buffer, 0, carry, lineNumber);
        }
    }

    private static int indexOfNewline(byte[] buffer, int from, int to) {
        for (int i = from; i < to; i++) {
            if (buffer[i] == '\n') {
                return i;
            }
        }
        return -1;
    }

    private void tooLong(int number) {
        problems.add(displayName, number, 1, "line longer than " + YamlLimits.MAX_LIST_LINE
                + " bytes (one address, CIDR or fingerprint a line)");
    }

    /** One line: bytes {@code [lineStart, lineEnd)} of {@code line}, without its newline. */
    private void line(byte[] line, int lineStart, int lineEnd, int number) {
        if (problems.full()) {
            stopped = true;
            return;
        }
        if (lineEnd - lineStart > YamlLimits.MAX_LIST_LINE) {
            tooLong(number);
            return;
        }
        int end = lineEnd;
        for (int i = lineStart; i < lineEnd; i++) {
            if (line[i] == '#') {
                end = i;
                break;
            }
        }
        int start = lineStart;
        while (start < end && isSpace(line[start])) {
            start++;
        }
        while (end > start && isSpace(line[end - 1])) {
            end--;
        }
        if (start == end) {
            return;
        }
        int column = start - lineStart + 1; // the entry follows ASCII white space only: bytes are columns
        if (addIpv4(line, start, end, number)) {
            countEntry(number, column);
            return;
        }
        boolean ascii = true;
        for (int i = start; i < end; i++) {
            ascii &= line[i] >= 0;
        }
        String entry = new String(line, start, end - start, ascii ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8);
        Optional<String> problem = contents.add(entry, number);
        if (problem.isPresent()) {
            problems.add(displayName, number, column, problem.get());
            return;
        }
        countEntry(number, column);
    }

    private void countEntry(int number, int column) {
        ++entries;
        if (entries > YamlLimits.MAX_LIST_FILE_ENTRIES) {
            problems.add(displayName, number, column, "more than " + YamlLimits.MAX_LIST_FILE_ENTRIES
                    + " entries; refusing the list file");
            stopped = true;
        } else if (entries > YamlLimits.MAX_LIST_FILE_FINGERPRINTS && contents.holdsFingerprints()) {
            problems.add(displayName, number, column, "more than " + YamlLimits.MAX_LIST_FILE_FINGERPRINTS
                    + " fingerprints; refusing the list file");
            stopped = true;
        }
    }

    /**
     * The common case without objects: a plain IPv4 address or CIDR, straight from the bytes. Returns
     * false for anything else — including mistakes — which then goes through {@link
     * io.portcullis.policy.net.Cidr#parse} for the one place that words the error.
     */
    private boolean addIpv4(byte[] line, int from, int to, int number) {
        long address = 0;
        int i = from;
        for (int octet = 0; octet < 4; octet++) {
            if (octet > 0) {
                if (i >= to || line[i] != '.') {
                    return false;
                }
                i++;
            }
            int start = i;
            int value = 0;
            while (i < to && i - start < 3 && line[i] >= '0' && line[i] <= '9') {
                value = value * 10 + (line[i] - '0');
                i++;
            }
            if (i == start || value > 255 || (i - start > 1 && line[start] == '0')) {
                return false;
            }
            address = (address << 8) | value;
        }
        int prefix = 32;
        if (i < to) {
            if (line[i] != '/' || to - i < 2 || to - i > 3) {
                return false;
            }
            prefix = 0;
            for (int k = i + 1; k < to; k++) {
                if (line[k] < '0' || line[k] > '9') {
                    return false;
                }
                prefix = prefix * 10 + (line[k] - '0');
            }
            if (prefix > 32 || (to - i == 3 && line[i + 1] == '0')) {
                return false;
            }
        }
        long hostMask = prefix == 32 ? 0 : 0xFFFF_FFFFL >>> prefix;
        if ((address & hostMask) != 0) {
            return false;
        }
        if (contents.holdsFingerprints()) {
            return false; // the slow path words the mix-up
        }
        contents.addIpv4Range((int) address, (int) (address | hostMask), "", number);
        return true;
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\r' || b == '\f';
    }
}
