package io.portcullis.gateway;

import io.portcullis.gateway.command.Commands;
import java.util.OptionalInt;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * {@code java -jar portcullis.jar} runs the gateway; {@code java -jar portcullis.jar validate ...} checks the
 * configuration and policy files as a start would, without starting anything (like {@code nginx -t});
 * {@code --help} and {@code --version} print and exit. See {@link Commands}.
 */
@SpringBootApplication
public class PortcullisApplication {

    public static void main(String[] args) {
        OptionalInt exit = Commands.run(args, System.out, System.err);
        if (exit.isPresent()) {
            System.exit(exit.getAsInt());
        }
        TermSignal.exitZero();
        SpringApplication.run(PortcullisApplication.class, args);
    }
}
