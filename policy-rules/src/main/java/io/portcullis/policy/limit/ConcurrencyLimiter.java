package io.portcullis.policy.limit;

import io.portcullis.policy.model.InspectAction;
import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;

/**
 * A {@code concurrency-limit} rule's limiter: per key, at most {@code max} open connections. A
 * passed connection holds a {@link ConcurrencyPermit} until it ends. Past the registry's cap on
 * tracked keys, a connection with a key not tracked yet is refused too, with a reason that says so;
 * tracked keys keep their counts.
 */
public final class ConcurrencyLimiter implements Limiter {

    private final ConcurrencyLimit settings;
    private final ConcurrencyState state;
    private final Admission.Refused atMax;
    private final Admission.Refused tooManyKeys;

    ConcurrencyLimiter(String rule, ConcurrencyLimit settings, ConcurrencyState state) {
        this.settings = settings;
        this.state = state;
        Verdict reject = new Verdict(InspectAction.REJECT, rule);
        this.atMax = new Admission.Refused(reject.withReason(
                "concurrency-limit reached: " + settings.max() + " open connections per " + settings.key()));
        this.tooManyKeys = new Admission.Refused(reject.withReason(
                "concurrency-limit is tracking " + state.maxKeys() + " " + settings.key()
                        + " keys, its cap: connections with a new key are rejected until others close"));
    }

    @Override
    public ConcurrencyLimit settings() {
        return settings;
    }

    @Override
    public Admission admit(InspectRequest request, byte[] sourceAddress) {
        return state.tryAcquire(settings.key().keyOf(request, sourceAddress), settings.max(), atMax, tooManyKeys);
    }

    @Override
    public Verdict refusal() {
        return atMax.verdict();
    }

    @Override
    public long trackedKeys() {
        return state.trackedKeys();
    }

    @Override
    public long refusedAtKeyCap() {
        return state.refusedAtKeyCap();
    }

    ConcurrencyState state() {
        return state;
    }

    @Override
    public String toString() {
        return "ConcurrencyLimiter[" + settings + "]";
    }
}
