package io.portcullis.policy.limit;

import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;

/**
 * A {@code rate-limit} rule's limiter: a token bucket per key. A connection that reaches the rule
 * takes a token — even if a later rule rejects it, since the limit is on connection attempts — and
 * is refused when its bucket is empty.
 */
public final class RateLimiter implements Limiter {

    private final RateLimit settings;
    private final RateState state;
    private final Admission.Refused refused;

    RateLimiter(String rule, RateLimit settings, RateState state) {
        this.settings = settings;
        this.state = state;
        this.refused = new Admission.Refused(new Verdict(InspectAction.REJECT, rule).withReason(
                "rate-limit exceeded: " + settings.rateText() + " (burst " + settings.burst() + ") per "
                        + settings.key()));
    }

    @Override
    public RateLimit settings() {
        return settings;
    }

    @Override
    public Admission admit(InspectRequest request, byte[] sourceAddress) {
        return state.tryConsume(settings.key().keyOf(request, sourceAddress)) ? Admission.Passed.INSTANCE : refused;
    }

    @Override
    public Verdict refusal() {
        return refused.verdict();
    }

    @Override
    public long trackedKeys() {
        return state.trackedKeys();
    }

    RateState state() {
        return state;
    }

    @Override
    public String toString() {
        return "RateLimiter[" + settings + "]";
    }
}
