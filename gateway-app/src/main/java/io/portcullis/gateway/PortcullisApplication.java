package io.portcullis.gateway;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

@SpringBootApplication
public class PortcullisApplication {

    public static void main(String[] args) {
        SpringApplication.run(PortcullisApplication.class, args);
    }
}
