// Starts Amazon DynamoDB Local listening on one address only: 127.0.0.1, or the address in the
// system property links.dynamodb.host (scripts/dynamodb-local passes DYNAMODB_HOST). scripts/sam-local
// uses the Docker bridge's own address, so that sam local's containers can reach it. A wildcard
// (0.0.0.0, ::, or any other spelling of "every interface") is refused.
//
// DynamoDB Local has no host option: its server always binds every interface. This launcher builds
// the server exactly as DynamoDB Local's own command line does, then sets the host of its Jetty
// connector before starting it. Run as a single-file source program (java Foo.java).
import java.lang.reflect.Field;
import java.net.InetAddress;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class DynamoDBLocalLoopback {
    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server jetty = (Server) field.get(proxy);
        String host = System.getProperty("links.dynamodb.host", "127.0.0.1");
        if (host.isBlank() || InetAddress.getByName(host).isAnyLocalAddress()) {
            throw new IllegalArgumentException("refusing to bind every interface: '" + host + "'");
        }
        for (Connector connector : jetty.getConnectors()) {
            ((ServerConnector) connector).setHost(host);
        }
        proxy.start();
        System.out.println("DynamoDB Local listening on " + host);
        proxy.join();
    }
}
