package io.portcullis.gateway;

import io.portcullis.policy.Validate;
import java.util.Arrays;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * {@code java -jar portcullis.jar} runs the gateway; {@code java -jar portcullis.jar validate FILE...}
 * checks policy files without starting anything (exit 0 when all are valid, 1 otherwise), like
 * {@code nginx -t} or {@code haproxy -c}.
 */
@SpringBootApplication
public class PortcullisApplication {

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("validate")) {
            System.exit(Validate.run(Arrays.asList(args).subList(1, args.length), System.out, System.err));
        }
        SpringApplication.run(PortcullisApplication.class, args);
    }
}
