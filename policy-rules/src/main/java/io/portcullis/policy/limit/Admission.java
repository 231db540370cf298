package io.portcullis.policy.limit;

import io.portcullis.policy.model.Verdict;

/**
 * What a limiter answers for one connection: it {@link Passed passed} with nothing to hold, it passed
 * holding a {@link ConcurrencyPermit}, or it was {@link Refused refused} with the limiter's reject
 * verdict. The answers other than a permit are constants, so a limiter allocates no answer.
 */
public sealed interface Admission permits Admission.Passed, Admission.Refused, ConcurrencyPermit {

    /** Under the bound; nothing to hold (a rate limit took its token). */
    enum Passed implements Admission {
        INSTANCE
    }

    /** Past the bound: the connection is rejected with {@code verdict} (rule and reason filled in). */
    record Refused(Verdict verdict) implements Admission {
    }
}
