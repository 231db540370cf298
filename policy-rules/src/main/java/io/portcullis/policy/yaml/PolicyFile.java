package io.portcullis.policy.yaml;

import io.portcullis.policy.PolicyError;
import io.portcullis.policy.PolicyException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads a policy file as strict UTF-8 text, refusing files over {@link YamlLimits#MAX_SIZE} bytes.
 * Blocking I/O: call it off the event loop. Any thread.
 */
public final class PolicyFile {

    private PolicyFile() {
    }

    /**
     * @param file       the file to read
     * @param sourceName the name used in error messages
     * @throws PolicyException when the file cannot be read, is too large or is not UTF-8
     */
    public static String read(Path file, String sourceName) throws PolicyException {
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            // Opening a pipe would wait for a writer, reading a device might never end.
            throw error(sourceName, 1, 1, "cannot read the policy file: not a regular file (a directory, a pipe or a "
                    + "device)");
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(YamlLimits.MAX_SIZE + 1);
        } catch (NoSuchFileException e) {
            throw error(sourceName, 1, 1, "cannot read the policy file: no such file");
        } catch (AccessDeniedException e) {
            throw error(sourceName, 1, 1, "cannot read the policy file: permission denied");
        } catch (IOException e) {
            throw error(sourceName, 1, 1, "cannot read the policy file: " + e);
        }
        if (bytes.length > YamlLimits.MAX_SIZE) {
            throw error(sourceName, 1, 1, "the policy file is larger than " + (YamlLimits.MAX_SIZE >> 20)
                    + " MiB; refusing to read it (move large address lists to list files)");
        }
        return decode(bytes, sourceName);
    }

    /** Strict UTF-8; a bad byte is reported at its line and column. A leading BOM is dropped. */
    static String decode(byte[] bytes, String sourceName) throws PolicyException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (result.isError()) {
            int offset = in.position();
            int line = 1;
            int lineStart = 0;
            for (int i = 0; i < offset; i++) {
                if (bytes[i] == '\n') {
                    line++;
                    lineStart = i + 1;
                }
            }
            int column = 1 + new String(bytes, lineStart, offset - lineStart, StandardCharsets.UTF_8).length();
            throw error(sourceName, line, column, String.format("not valid UTF-8: byte 0x%02X", bytes[offset] & 0xFF));
        }
        decoder.flush(out);
        out.flip();
        if (out.hasRemaining() && out.charAt(0) == '\uFEFF') {
            out.position(1);
        }
        return out.toString();
    }

    private static PolicyException error(String file, int line, int column, String message) {
        return new PolicyException(new PolicyError(file, line, column, message));
    }
}
