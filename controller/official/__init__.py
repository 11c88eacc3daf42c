"""Official alerts from CAP feeds (Météo-France vigilance through MeteoAlarm, any CAP 1.2 or 1.1 sender):
the pure core, with no HTTP, MQTT or database: reading documents safely, the MeteoAlarm Atom feed,
geocodes to departments, the life cycle, rules as data, areas against panels' places."""
