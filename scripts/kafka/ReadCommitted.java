import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * An independent reader for the tests: Apache's own consumer, isolation.level=read_committed, no
 * group. Reads every partition of each topic from the beginning to the end offsets it finds at
 * start (for read_committed: the last stable offset) and prints one line per record:
 * topic TAB partition TAB offset TAB key TAB value. Exits 0 once every partition is read.
 *
 *   java -cp '.kafka/VERSION/lib/*' scripts/kafka/ReadCommitted.java BROKERS TOPIC[,TOPIC...]
 */
public class ReadCommitted {
  public static void main(String[] args) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
      List<TopicPartition> parts = new ArrayList<>();
      for (String topic : args[1].split(",")) {
        for (PartitionInfo info : consumer.partitionsFor(topic, Duration.ofSeconds(30))) parts.add(new TopicPartition(topic, info.partition()));
      }
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> ends = consumer.endOffsets(parts, Duration.ofSeconds(30));
      long deadline = System.currentTimeMillis() + 120_000;
      StringBuilder out = new StringBuilder();
      while (!done(consumer, parts, ends)) {
        if (System.currentTimeMillis() > deadline) throw new IllegalStateException("end offsets not reached: " + ends);
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
          out.append(r.topic()).append('\t').append(r.partition()).append('\t').append(r.offset()).append('\t')
              .append(r.key()).append('\t').append(r.value() == null ? "" : r.value().replace("\n", "")).append('\n');
          if (out.length() > 1 << 20) {
            System.out.print(out);
            out.setLength(0);
          }
        }
      }
      System.out.print(out);
      System.out.flush();
    }
  }

  private static boolean done(KafkaConsumer<String, String> c, List<TopicPartition> parts, Map<TopicPartition, Long> ends) {
    for (TopicPartition tp : parts) if (c.position(tp) < ends.get(tp)) return false;
    return true;
  }
}
