package io.portcullis.policy.yaml;

/** Bounds on a policy file, so a huge or hostile file is a clear error rather than exhausted memory. */
public final class YamlLimits {

    /** Largest policy file read, in bytes (and largest YAML text parsed, in characters); large address lists belong in list files, whose YAML node tree would otherwise cost ~40x the file size in heap. */
    public static final int MAX_SIZE = 16 * 1024 * 1024;

    /** Most aliases ({@code *name}) to lists or mappings in one file; stops "billion laughs" expansion. */
    public static final int MAX_COLLECTION_ALIASES = 50;

    /** Deepest nesting of lists and mappings. */
    public static final int MAX_NESTING_DEPTH = 50;

    /** Largest list file ({@code {file: …}}) read, in bytes. */
    public static final long MAX_LIST_FILE_SIZE = 128L * 1024 * 1024;

    /** Most entries in one list file (a million-entry block list is ordinary). */
    public static final int MAX_LIST_FILE_ENTRIES = 10_000_000;

    /** Most entries in one list file of JA4 fingerprints (each is a 36-character string in memory). */
    public static final int MAX_LIST_FILE_FINGERPRINTS = 1_000_000;

    /** Longest line of a list file, in bytes (comments included). */
    public static final int MAX_LIST_LINE = 4096;

    /** Most errors reported for one policy (rules file and list files); the walk stops after that. */
    public static final int MAX_ERRORS = 50;

    /** Longest error message, in characters; longer quoted values are cut short. */
    public static final int MAX_MESSAGE = 500;

    private YamlLimits() {
    }
}
