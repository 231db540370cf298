package io.portcullis.gateway.pending;

import io.portcullis.core.Listener;
import io.portcullis.core.PendingInspection;
import io.portcullis.gateway.Gateway;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One pended inspection as {@code GET /admin/pending} shows it.
 *
 * @param id              the inspection's id on the replica that holds it ({@link io.portcullis.core.InspectId}: a
 *                        number of that process's sequence, so two replicas may each have a 7)
 * @param listener        its listener
 * @param source          the client, {@code ip:port}, as a trusted PROXY header names it
 * @param peer            the TCP peer, {@code ip:port}
 * @param rule            the rule that pended it
 * @param ageMillis       how long it has been pended
 * @param remainingMillis how long until its deadline decides it ({@code on-timeout}); 0 when due or unknown
 * @param heldBytes       client bytes held for it
 * @param halfClosed      the client sent a FIN after those bytes
 * @param route           its rule's backend pool, when set
 */
public record PendingEntry(String id, String listener, String source, String peer, String rule, long ageMillis,
                           long remainingMillis, int heldBytes, boolean halfClosed, Optional<String> route) {

    public PendingEntry {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(route, "route");
    }

    /** The entry of one snapshot of the core. */
    public static PendingEntry of(PendingInspection p) {
        return new PendingEntry(p.request().id().toString(), p.request().listener(), address(p.request().source()),
                address(p.request().peer()), p.rule(), p.age().toMillis(), p.remaining().toMillis(), p.heldBytes(),
                p.inputShut(), p.route());
    }

    private static String address(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    /** What the gateway holds pended now, over all listeners, the oldest first. Any thread but an event loop. */
    public static List<PendingEntry> snapshot(Gateway gateway) {
        List<PendingEntry> out = new ArrayList<>();
        for (Listener listener : gateway.listeners()) {
            for (PendingInspection p : listener.pending()) {
                out.add(of(p));
            }
        }
        out.sort(Comparator.comparingLong(PendingEntry::ageMillis).reversed());
        return out;
    }

    /**
     * The JSON object of {@code GET /admin/pending}: id, listener, source, peer, rule, ageMillis, remainingMillis,
     * heldBytes, halfClosed and, when set, route.
     */
    public Map<String, Object> toJson() {
        Map<String, Object> item = new LinkedHashMap<>();
        item.put("id", id);
        item.put("listener", listener);
        item.put("source", source);
        item.put("peer", peer);
        item.put("rule", rule);
        item.put("ageMillis", ageMillis);
        item.put("remainingMillis", remainingMillis);
        item.put("heldBytes", heldBytes);
        item.put("halfClosed", halfClosed);
        route.ifPresent(r -> item.put("route", r));
        return item;
    }
}
