package io.portcullis.core;


/**
 * Decides a connection before it is accepted (WSK's {@code WskInspectEvent}).
 *
 * <p>Called once per connection, on that connection's event loop: it must not block. Answer
 * {@link InspectAction#PEND} to decide later through {@link Listener#inspectComplete}, and start the work
 * that will complete it in {@link #pended}: only from then on is the inspection pended and completable (a
 * PEND may still be refused for want of a pending slot, {@link #pendRefused}). An exception thrown here
 * rejects the connection. All methods run on the connection's event loop and must not block.
 */
@FunctionalInterface
public interface InspectHandler {

    /**
     * Decides a connection (WSK's {@code WskInspectEvent}).
     *
     * @param request what is known of the connection
     * @return accept, reject or pend; null rejects
     */
    InspectAction inspect(InspectRequest request);

    /**
     * The full answer, which the listener asks for: the action, plus for PEND an optional deadline that
     * overrides the listener's {@code inspect.timeout}, and a permit the listener releases when the
     * connection closes. By default the action of {@link #inspect} with nothing else. Same thread rules.
     *
     * @param request what is known of the connection
     * @return the verdict; null rejects
     */
    default Verdict verdict(InspectRequest request) {
        InspectAction action = inspect(request);
        return action == null ? null : HandlerVerdicts.of(action);
    }

    /**
     * The PEND answer of {@link #verdict} took effect: the inspection holds a pending slot, its deadline runs,
     * and {@link Listener#inspectComplete} now completes it (also from inside this call: it is applied after).
     * Start the decision here, not in {@code inspect}. An exception thrown here is logged and the deadline
     * decides. Does nothing by default.
     *
     * @param request the pended inspection's request
     * @param verdict the verdict that pended it, as {@link #verdict} returned it
     */
    default void pended(InspectRequest request, Verdict verdict) {
    }

    /**
     * The PEND answer did not take effect: the listener already held {@code max-pending} inspections, and
     * {@code applied} (its {@code on-overflow}) was done instead. {@link #pended} is not called for this
     * request. Does nothing by default.
     *
     * @param request the inspection's request
     * @param applied the listener's {@code on-overflow} action, done instead
     */
    default void pendRefused(InspectRequest request, InspectAction applied) {
    }

    /**
     * The connection this handler inspected has closed, whatever its outcome; called exactly once per
     * {@link #inspect} call, on the connection's event loop, so resources tied to the connection (a
     * concurrency permit, say) can be given back. Does nothing by default.
     *
     * @param request the request of the closed connection
     */
    default void connectionClosed(InspectRequest request) {
    }
}
