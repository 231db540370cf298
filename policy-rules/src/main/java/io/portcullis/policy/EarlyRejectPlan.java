package io.portcullis.policy;

import io.portcullis.policy.net.CidrSet;
import java.util.List;
import java.util.Objects;

/**
 * What of a listener's rules the kernel can enforce before the handshake: the leading rules that reject by source
 * alone, as IPv4 ranges. Every rule stays in user space too; this is only the part the kernel can take first.
 *
 * @param rules       the rules compiled, in order
 * @param ipv4        their IPv4 sources, merged (no IPv6 address)
 * @param userSpace   what is left to user space only, and why, one line each (empty when everything went)
 */
public record EarlyRejectPlan(List<String> rules, CidrSet ipv4, List<String> userSpace) {

    /** Nothing to compile: no rule, or the listener has no section in the policy. */
    public static final EarlyRejectPlan NONE = new EarlyRejectPlan(List.of(), CidrSet.empty(), List.of());

    public EarlyRejectPlan {
        rules = List.copyOf(rules);
        Objects.requireNonNull(ipv4, "ipv4");
        userSpace = List.copyOf(userSpace);
    }
}
