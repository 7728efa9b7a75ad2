"""The appliance's one MQTT connection (paho-mqtt 2.x): settings, reconnects, last will, subscriptions.

Add-ons reach it as `ctx.mqtt`; the appliance as `Appliance.mqtt`. See docs/architecture.md, "MQTT".
"""

from appliance.mqtt.reasons import Reason
from appliance.mqtt.service import MessageHandler, MqttService, MqttState, MqttStatus, current
from appliance.mqtt.settings import BrokerTarget, BuiltinBroker, MqttSettings, MqttSettingsInvalid

__all__ = [
    "BrokerTarget",
    "BuiltinBroker",
    "MessageHandler",
    "MqttService",
    "MqttSettings",
    "MqttSettingsInvalid",
    "MqttState",
    "MqttStatus",
    "Reason",
    "current",
]
