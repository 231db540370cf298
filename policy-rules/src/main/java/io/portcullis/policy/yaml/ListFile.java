package io.portcullis.policy.yaml;

import io.portcullis.policy.net.CidrFormatException;
import io.portcullis.policy.net.CidrSet;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Reads a list file — one address or CIDR a line; {@code #} starts a comment (a whole line or the
 * rest of one); blank lines and surrounding white space are ignored — straight into a
 * {@link CidrSet.Builder}, byte by byte, without SnakeYAML: a million entries load in well under a
 * second. Errors are reported as {@code FILE:LINE:COLUMN: message}, FILE as the rules file names it
 * (relative to its directory). Bounded: {@link YamlLimits#MAX_LIST_FILE_SIZE} bytes,
 * {@link YamlLimits#MAX_LIST_FILE_ENTRIES} entries, {@link YamlLimits#MAX_LIST_LINE} bytes a line.
 */
final class ListFile {

    private final Path path;
    private final String displayName;
    private final Problems problems;
    private final CidrSet.Builder builder = CidrSet.builder();
    private final byte[] line = new byte[YamlLimits.MAX_LIST_LINE];
    private int entries;
    private boolean stopped;

    private ListFile(Path path, String displayName, Problems problems) {
        this.path = path;
        this.displayName = displayName;
        this.problems = problems;
    }

    /**
     * The addresses of the file, or empty when it cannot be read (reported at {@code problemsAt}'s
     * position in the rules file by the caller through the returned message).
     *
     * @return the set (possibly partial when some lines are wrong, which is reported), or the reason
     *         the file could not be read at all
     */
    static Result read(Path path, String displayName, Problems problems) {
        ListFile file = new ListFile(path, displayName, problems);
        try (InputStream in = Files.newInputStream(path)) {
            file.scan(in);
        } catch (NoSuchFileException e) {
            return new Result(CidrSet.empty(), Optional.of("no such file"));
        } catch (AccessDeniedException e) {
            return new Result(CidrSet.empty(), Optional.of("permission denied"));
        } catch (IOException e) {
            return new Result(CidrSet.empty(), Optional.of(String.valueOf(e.getMessage())));
        }
        return new Result(file.builder.build(), Optional.empty());
    }

    /** The addresses read, and why the file could not be read, if it could not. */
    record Result(CidrSet addresses, Optional<String> unreadable) {
    }

    private void scan(InputStream in) throws IOException {
        if (Files.isDirectory(path)) {
            throw new IOException("is a directory");
        }
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        int length = 0;
        boolean tooLong = false;
        int lineNumber = 1;
        boolean first = true;
        int n;
        while (!stopped && (n = in.read(buffer)) > 0) {
            total += n;
            if (total > YamlLimits.MAX_LIST_FILE_SIZE) {
                problems.add(displayName, 1, 1, "the list file is larger than " + (YamlLimits.MAX_LIST_FILE_SIZE >> 20)
                        + " MiB; refusing to read it");
                return;
            }
            int start = 0;
            if (first) {
                first = false;
                if (n >= 3 && buffer[0] == (byte) 0xEF && buffer[1] == (byte) 0xBB && buffer[2] == (byte) 0xBF) {
                    start = 3; // UTF-8 byte order mark
                }
            }
            for (int i = start; i < n && !stopped; i++) {
                byte b = buffer[i];
                if (b == '\n') {
                    line(lineNumber++, length, tooLong);
                    length = 0;
                    tooLong = false;
                } else if (length < line.length) {
                    line[length++] = b;
                } else {
                    tooLong = true;
                }
            }
        }
        if (!stopped && (length > 0 || tooLong)) {
            line(lineNumber, length, tooLong);
        }
    }

    private void line(int number, int length, boolean tooLong) {
        if (problems.full()) {
            stopped = true;
            return;
        }
        if (tooLong) {
            problems.add(displayName, number, 1, "line longer than " + YamlLimits.MAX_LIST_LINE
                    + " bytes (one address or CIDR a line)");
            return;
        }
        int end = length;
        for (int i = 0; i < length; i++) {
            if (line[i] == '#') {
                end = i;
                break;
            }
        }
        int start = 0;
        while (start < end && isSpace(line[start])) {
            start++;
        }
        while (end > start && isSpace(line[end - 1])) {
            end--;
        }
        if (start == end) {
            return;
        }
        boolean ascii = true;
        for (int i = start; i < end; i++) {
            ascii &= line[i] >= 0;
        }
        // the entry starts after ASCII white space only, so its byte offset is its column
        String entry = new String(line, start, end - start, ascii ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8);
        int column = start + 1;
        if (entry.startsWith(SourceParser.LIST_PREFIX) || entry.startsWith(SourceParser.NOT)) {
            problems.add(displayName, number, column, "a list holds addresses and CIDRs only; it cannot refer to"
                    + " another list ('" + entry + "')");
            return;
        }
        try {
            builder.add(entry);
        } catch (CidrFormatException e) {
            problems.add(displayName, number, column, e.getMessage());
            return;
        }
        if (++entries > YamlLimits.MAX_LIST_FILE_ENTRIES) {
            problems.add(displayName, number, column, "more than " + YamlLimits.MAX_LIST_FILE_ENTRIES
                    + " entries; refusing the list file");
            stopped = true;
        }
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\r' || b == '\f';
    }
}
