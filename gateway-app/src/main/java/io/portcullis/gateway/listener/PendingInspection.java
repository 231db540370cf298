package io.portcullis.gateway.listener;

import io.portcullis.policy.model.InspectRequest;
import java.time.Duration;

/**
 * A snapshot of one pended inspection, for operators.
 *
 * @param request what was inspected
 * @param age     how long it has been pended
 */
public record PendingInspection(InspectRequest request, Duration age) {
}
