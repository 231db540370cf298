package io.portcullis.policy;

import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.model.Verdict;

/**
 * Receives what {@code mode: shadow} rules would have done. The gateway counts these as
 * {@code portcullis_shadow_verdicts_total{listener,rule,action}} and logs them.
 *
 * <p>Called during evaluation, on the event loop: it must not block, and it should not throw (an
 * exception is caught and that report is lost). The verdicts passed are constants of the compiled
 * policy, so reporting allocates nothing.
 */
@FunctionalInterface
public interface ShadowObserver {

    /** An observer that ignores every report. */
    ShadowObserver NONE = (request, wouldBe) -> { };

    /**
     * A shadow rule matched {@code request} and would have given {@code wouldBe}: its action for a
     * deciding rule, or a rejection (with the reason) for a limiter at its bound. Shadow limiters
     * under their bound report nothing, since they would not have decided anything.
     */
    void shadowVerdict(InspectRequest request, Verdict wouldBe);
}
