package io.portcullis.gateway.admin;

import io.portcullis.gateway.config.PortcullisProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * The admin controllers exist only when {@code portcullis.admin.token} is set: with the admin API off there is no
 * admin route for any spelling of a path to reach, whatever the filter in front does.
 */
public final class AdminApiCondition implements Condition {

    @Override
    public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
        // The Binder, as the properties themselves are bound: relaxed names (PORTCULLIS_ADMIN_TOKEN), placeholders.
        return Binder.get(context.getEnvironment()).bind("portcullis.admin.token", String.class)
                .map(token -> PortcullisProperties.Admin.tokenOf(token).isPresent())
                .orElse(false);
    }
}
