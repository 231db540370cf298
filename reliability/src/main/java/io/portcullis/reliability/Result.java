package io.portcullis.reliability;

/** One scenario's row of the table. */
record Result(String scenario, String load, String faults, boolean passed, String outcome, long bytesLost,
              long peakRssKiB, long seconds) {
}
