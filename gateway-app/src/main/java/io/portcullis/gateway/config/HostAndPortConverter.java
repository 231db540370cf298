package io.portcullis.gateway.config;

import org.springframework.boot.context.properties.ConfigurationPropertiesBinding;
import org.springframework.core.convert.converter.Converter;
import org.springframework.stereotype.Component;

/** Lets {@code application.yml} write addresses as {@code host:port}; a bad one fails binding under its key. */
@Component
@ConfigurationPropertiesBinding
public class HostAndPortConverter implements Converter<String, HostAndPort> {

    @Override
    public HostAndPort convert(String source) {
        return HostAndPort.parse(source);
    }
}
