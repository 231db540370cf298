package io.portcullis.gateway.decision;

/** The wire format of a decision service ({@code type:}). */
public enum DecisionType {
    /** {@code POST} the request object; the answer is {@code {"action": "accept"|"reject", "reason", "ttl"}}. */
    HTTP,
    /** {@code POST {"input": <request object>}} to an OPA data API; the answer is OPA's {@code {"result": ...}}. */
    OPA
}
