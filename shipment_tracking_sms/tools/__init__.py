from .http_sms_gateway import HttpSmsGateway, SmsGatewayError
from .phone import NumberCheck, check_sms_number
from .sms_length import sms_length
