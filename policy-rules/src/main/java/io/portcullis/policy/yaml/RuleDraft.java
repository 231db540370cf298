package io.portcullis.policy.yaml;

import io.portcullis.policy.limit.LimitSettings;
import io.portcullis.policy.limit.LimiterRegistry;
import io.portcullis.policy.model.Verdict;
import io.portcullis.policy.rule.Match;
import io.portcullis.policy.rule.Rule;
import io.portcullis.policy.rule.RuleMode;

import java.util.List;
import java.util.Optional;

/**
 * A rule that validated, before its limiter is linked to state: limiter state is created only once
 * the whole policy validated, so a refused file leaves the registry untouched.
 *
 * @param verdict present for a deciding rule
 * @param limit   present for a limiter rule (exactly one of the two is)
 */
record RuleDraft(String name, int line, int column, List<Match> matches, Optional<Verdict> verdict,
                 Optional<LimitSettings> limit, RuleMode mode) {

    /** Whether the rule ends evaluation for every connection (see {@link Rule#catchesAll()}). */
    boolean catchesAll() {
        return verdict.isPresent() && mode == RuleMode.ENFORCE && matches.stream().allMatch(Match::matchesEverything);
    }

    Rule link(String listener, LimiterRegistry limiters) {
        if (verdict.isPresent()) {
            return Rule.deciding(name, line, column, matches, verdict.get(), mode);
        }
        return Rule.limiting(name, line, column, matches, limiters.limiter(listener, name, limit.orElseThrow()), mode);
    }
}
