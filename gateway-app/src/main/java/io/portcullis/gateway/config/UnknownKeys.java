package io.portcullis.gateway.config;

import java.util.Set;
import java.util.TreeSet;
import org.springframework.boot.context.properties.ConfigurationPropertiesBindHandlerAdvisor;
import org.springframework.boot.context.properties.bind.AbstractBindHandler;
import org.springframework.boot.context.properties.bind.BindContext;
import org.springframework.boot.context.properties.bind.BindHandler;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.UnboundConfigurationPropertiesException;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.boot.context.properties.source.UnboundElementsSourceFilter;
import org.springframework.stereotype.Component;

/**
 * Stops the start at a {@code portcullis.*} key that no record of the configuration has, wherever it lies.
 *
 * <p>Spring's own check ({@code ignoreUnknownFields = false}) lets through any key below a known key of a list
 * item: it takes {@code listeners[0].peek.tlz} for the left-over of a list another source overrode (its
 * {@code isOverriddenCollectionElement}), so a misspelt {@code peek.tls}, {@code proxy-protocol.accept} or pool key
 * was ignored without a word and the listener ran without what the operator wrote. Here every key of the files and
 * the command line (not the environment or system properties, which Spring's check leaves out too) is walked along
 * the records' components; one that names no component of the record it lies in is reported as Spring reports an
 * unknown key, with the nearest known one. It runs before validation, so a misspelt key is named as such rather
 * than as the required key it left missing.
 */
@Component
public class UnknownKeys implements ConfigurationPropertiesBindHandlerAdvisor {

    private static final UnboundElementsSourceFilter CHECKED_SOURCES = new UnboundElementsSourceFilter();

    @Override
    public BindHandler apply(BindHandler parent) {
        return new AbstractBindHandler(parent) {
            @Override
            public void onFinish(ConfigurationPropertyName name, Bindable<?> target, BindContext context, Object result)
                    throws Exception {
                if (context.getDepth() == 0 && target.getType().resolve() == PortcullisProperties.class) {
                    check(name, new ConfigurationErrors.Keys(name, target.getType()), context.getSources());
                }
                super.onFinish(name, target, context, result);
            }
        };
    }

    static void check(ConfigurationPropertyName root, ConfigurationErrors.Keys keys,
                      Iterable<ConfigurationPropertySource> sources) {
        Set<ConfigurationProperty> unknown = new TreeSet<>();
        for (ConfigurationPropertySource source : sources) {
            if (source instanceof IterableConfigurationPropertySource iterable && CHECKED_SOURCES.apply(source)) {
                iterable.filter(root::isAncestorOf).stream().filter(keys::namesNoComponent).forEach(key -> {
                    ConfigurationProperty property = source.getConfigurationProperty(key);
                    if (property != null) {
                        unknown.add(property);
                    }
                });
            }
        }
        if (!unknown.isEmpty()) {
            throw new UnboundConfigurationPropertiesException(unknown);
        }
    }
}
