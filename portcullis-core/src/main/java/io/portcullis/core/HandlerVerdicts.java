package io.portcullis.core;


/** The verdicts of an inspect handler that answers with a bare action: constants, nothing allocated. */
final class HandlerVerdicts {

    /** Rule name of verdicts that no policy rule gave. */
    static final String RULE = "inspect-handler";

    private static final Verdict ACCEPT = new Verdict(InspectAction.ACCEPT, RULE);
    private static final Verdict REJECT = new Verdict(InspectAction.REJECT, RULE);
    private static final Verdict PEND = new Verdict(InspectAction.PEND, RULE);

    private HandlerVerdicts() {
    }

    static Verdict of(InspectAction action) {
        return switch (action) {
            case ACCEPT -> ACCEPT;
            case REJECT -> REJECT;
            case PEND -> PEND;
        };
    }
}
