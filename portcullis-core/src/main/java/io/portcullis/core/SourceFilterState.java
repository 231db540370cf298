package io.portcullis.core;

import java.util.Optional;

/**
 * Whether a listener's {@link SourceFilter} is in the kernel, and how much of it.
 *
 * @param attached     whether the listening socket holds a filter now
 * @param ranges       IPv4 ranges the kernel drops
 * @param rangesAsked  ranges asked for; more than {@code ranges} when not all fit in one program
 * @param instructions instructions of the program in the kernel; 0 when none
 * @param problem      why the filter asked for is not in the kernel, when it is not
 */
public record SourceFilterState(boolean attached, int ranges, int rangesAsked, int instructions,
                                Optional<String> problem) {

    /** No filter asked for. */
    public static final SourceFilterState NONE = new SourceFilterState(false, 0, 0, 0, Optional.empty());

    static SourceFilterState attached(SourceFilter filter) {
        return new SourceFilterState(true, filter.ranges(), filter.rangesAsked(), filter.instructions(), Optional.empty());
    }

    static SourceFilterState failed(SourceFilter filter, String problem) {
        return new SourceFilterState(false, 0, filter.rangesAsked(), 0, Optional.of(problem));
    }
}
