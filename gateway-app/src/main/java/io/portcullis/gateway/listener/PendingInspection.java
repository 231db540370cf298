package io.portcullis.gateway.listener;

import io.portcullis.policy.model.InspectRequest;
import java.time.Duration;

/**
 * A snapshot of one pended inspection, for operators.
 *
 * @param request what was inspected
 * @param rule    the rule that pended it
 * @param age     how long it has been pended
 */
public record PendingInspection(InspectRequest request, String rule, Duration age) {
}
