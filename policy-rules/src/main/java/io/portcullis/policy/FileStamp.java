package io.portcullis.policy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Objects;

/**
 * What a file looked like at one moment: where its path leads (after symlinks), its modification time
 * and its size. Comparing a stamp with a fresh one tells a watcher that the file changed: an edit moves
 * the time or the size, a Kubernetes ConfigMap's {@code ..data} symlink swap the real path, a file that
 * appears or goes away its existence. A compiled policy stamps each file <em>just before</em> reading it
 * ({@link Policy#fileStamps()}, {@link PolicyException#files()}), so a change made while it was read
 * shows as a difference afterwards instead of passing for what was read.
 *
 * @param path     the path as named (absolute, normalized; not resolved through symlinks)
 * @param realPath where {@code path} leads; empty when there is no such file, {@code ?reason} when it
 *                 could not be examined
 * @param modified the last modification time; the epoch when there is no file
 * @param size     the size in bytes; -1 when there is no file
 */
public record FileStamp(Path path, String realPath, FileTime modified, long size) {

    private static final FileTime NONE = FileTime.fromMillis(0);

    public FileStamp {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(realPath, "realPath");
        Objects.requireNonNull(modified, "modified");
    }

    /** Stamps {@code path} now (made absolute and normalized). A few {@code stat} calls: off the event loop. */
    public static FileStamp of(Path path) {
        Path named = path.toAbsolutePath().normalize();
        try {
            Path real = named.toRealPath();
            return new FileStamp(named, real.toString(), Files.getLastModifiedTime(real), Files.size(real));
        } catch (NoSuchFileException e) {
            return new FileStamp(named, "", NONE, -1);
        } catch (IOException e) {
            return new FileStamp(named, "?" + e.getMessage(), NONE, -1);
        }
    }

    /** The same path, stamped now. */
    public FileStamp now() {
        return of(path);
    }

    /** Whether the file existed (and could be examined) when stamped. */
    public boolean exists() {
        return size >= 0;
    }
}
