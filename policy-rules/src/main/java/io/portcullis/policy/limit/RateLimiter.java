package io.portcullis.policy.limit;

import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;

/**
 * A {@code rate-limit} rule's limiter: a token bucket per key. A connection that reaches the rule
 * takes a token — even if a later rule rejects it, since the limit is on connection attempts — and
 * is refused when its bucket is empty. Past the registry's cap on tracked keys, a connection with a key
 * not tracked yet is refused too, with a reason that says so; tracked keys keep their buckets.
 */
public final class RateLimiter implements Limiter {

    private final RateLimit settings;
    private final RateState state;
    private final Admission.Refused refused;
    private final Admission.Refused tooManyKeys;

    RateLimiter(String rule, RateLimit settings, RateState state) {
        this.settings = settings;
        this.state = state;
        Verdict reject = new Verdict(InspectAction.REJECT, rule);
        this.refused = new Admission.Refused(reject.withReason(
                "rate-limit exceeded: " + settings.rateText() + " (burst " + settings.burst() + ") per "
                        + settings.key()));
        this.tooManyKeys = new Admission.Refused(reject.withReason(
                "rate-limit is tracking " + state.maxKeys() + " " + settings.key()
                        + " keys, its cap: connections with a new key are rejected until idle keys expire"));
    }

    @Override
    public RateLimit settings() {
        return settings;
    }

    @Override
    public Admission admit(InspectRequest request, byte[] sourceAddress) {
        return state.tryConsume(settings.key().keyOf(request, sourceAddress), refused, tooManyKeys);
    }

    @Override
    public Verdict refusal() {
        return refused.verdict();
    }

    @Override
    public long trackedKeys() {
        return state.trackedKeys();
    }

    @Override
    public long refusedAtKeyCap() {
        return state.refusedAtKeyCap();
    }

    RateState state() {
        return state;
    }

    @Override
    public String toString() {
        return "RateLimiter[" + settings + "]";
    }
}
