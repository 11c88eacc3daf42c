"""The rules of the trade: who may do what (roles, communes, approvals), and what messages, alerts,
campaigns, panels and commands are, checked and recorded. No HTTP, no MQTT."""
