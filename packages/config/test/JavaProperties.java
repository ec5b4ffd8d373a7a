// Ground truth: what java.util.Properties.load(InputStream) (the agent's reader, ISO-8859-1)
// makes of a file. Prints the keys and values as JSON, keys sorted.
// Run: java JavaProperties.java FILE  (Java 11+ runs a single source file directly)
import java.io.FileInputStream;
import java.util.Properties;
import java.util.TreeSet;

public class JavaProperties {
  public static void main(String[] args) throws Exception {
    Properties properties = new Properties();
    try (FileInputStream in = new FileInputStream(args[0])) {
      properties.load(in);
    }
    StringBuilder out = new StringBuilder("{");
    boolean first = true;
    for (String key : new TreeSet<>(properties.stringPropertyNames())) {
      if (!first) out.append(",");
      first = false;
      out.append("\n  ").append(quote(key)).append(": ").append(quote(properties.getProperty(key)));
    }
    System.out.println(out.append("\n}"));
  }

  private static String quote(String text) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      if (c == '"' || c == '\\') out.append('\\').append(c);
      else if (c < 0x20 || c > 0x7e) out.append(String.format("\\u%04x", (int) c));
      else out.append(c);
    }
    return out.append('"').toString();
  }
}
