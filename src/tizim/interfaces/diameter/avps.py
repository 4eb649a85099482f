"""The few Diameter numbers S13 needs: command codes, AVP codes, flags, result codes.

Plain integer constants rather than an enum or a dictionary object: the hot path compares
them millions of times a second, and a module-level int is the cheapest thing to compare.
Sources: RFC 6733 (base protocol) and 3GPP TS 29.272 (S13, vendor 10415).
"""

from typing import Final

VERSION: Final = 1
HEADER_LENGTH: Final = 20

# Command flags (first byte of the second header word).
FLAG_REQUEST: Final = 0x80
FLAG_PROXIABLE: Final = 0x40
FLAG_ERROR: Final = 0x20
FLAG_RETRANSMIT: Final = 0x10

# AVP flags.
AVP_FLAG_VENDOR: Final = 0x80
AVP_FLAG_MANDATORY: Final = 0x40
AVP_FLAG_PROTECTED: Final = 0x20
AVP_FLAGS_RESERVED: Final = 0x1F

# Command codes.
CMD_CAPABILITIES_EXCHANGE: Final = 257
CMD_DEVICE_WATCHDOG: Final = 280
CMD_DISCONNECT_PEER: Final = 282
CMD_ME_IDENTITY_CHECK: Final = 324
BASE_COMMANDS: Final = frozenset(
    {CMD_CAPABILITIES_EXCHANGE, CMD_DEVICE_WATCHDOG, CMD_DISCONNECT_PEER}
)

# Application ids.
APP_BASE: Final = 0
APP_S13: Final = 16777252
APP_RELAY: Final = 0xFFFFFFFF

VENDOR_3GPP: Final = 10415

# Base AVP codes (vendor 0).
AVP_USER_NAME: Final = 1
AVP_HOST_IP_ADDRESS: Final = 257
AVP_AUTH_APPLICATION_ID: Final = 258
AVP_ACCT_APPLICATION_ID: Final = 259
AVP_VENDOR_SPECIFIC_APPLICATION_ID: Final = 260
AVP_SESSION_ID: Final = 263
AVP_ORIGIN_HOST: Final = 264
AVP_SUPPORTED_VENDOR_ID: Final = 265
AVP_VENDOR_ID: Final = 266
AVP_FIRMWARE_REVISION: Final = 267
AVP_RESULT_CODE: Final = 268
AVP_PRODUCT_NAME: Final = 269
AVP_DISCONNECT_CAUSE: Final = 273
AVP_AUTH_SESSION_STATE: Final = 277
AVP_ORIGIN_STATE_ID: Final = 278
AVP_FAILED_AVP: Final = 279
AVP_ERROR_MESSAGE: Final = 281
AVP_ROUTE_RECORD: Final = 282
AVP_DESTINATION_REALM: Final = 283
AVP_PROXY_INFO: Final = 284
AVP_DESTINATION_HOST: Final = 293
AVP_ORIGIN_REALM: Final = 296
AVP_EXPERIMENTAL_RESULT: Final = 297
AVP_EXPERIMENTAL_RESULT_CODE: Final = 298
AVP_INBAND_SECURITY_ID: Final = 299

# 3GPP AVP codes (vendor 10415).
AVP_SUPPORTED_FEATURES: Final = 628
AVP_TERMINAL_INFORMATION: Final = 1401
AVP_IMEI: Final = 1402
AVP_SOFTWARE_VERSION: Final = 1403
AVP_EQUIPMENT_STATUS: Final = 1445

# (code, vendor) of every grouped AVP we may meet; the generic decoder descends into these.
# Not Failed-AVP: it carries an offending AVP as received, which may itself be malformed.
GROUPED_AVPS: Final = frozenset(
    {
        (AVP_VENDOR_SPECIFIC_APPLICATION_ID, 0),
        (AVP_PROXY_INFO, 0),
        (AVP_EXPERIMENTAL_RESULT, 0),
        (AVP_SUPPORTED_FEATURES, VENDOR_3GPP),
        (AVP_TERMINAL_INFORMATION, VENDOR_3GPP),
    }
)

# Equipment-Status values (TS 29.272 7.3.51).
EQUIPMENT_WHITELISTED: Final = 0
EQUIPMENT_BLACKLISTED: Final = 1
EQUIPMENT_GREYLISTED: Final = 2

AUTH_SESSION_NO_STATE_MAINTAINED: Final = 1

# Result codes (RFC 6733 7.1, TS 29.272 7.4.3).
SUCCESS: Final = 2001
COMMAND_UNSUPPORTED: Final = 3001
APPLICATION_UNSUPPORTED: Final = 3007
INVALID_HDR_BITS: Final = 3008
INVALID_AVP_BITS: Final = 3009
INVALID_AVP_VALUE: Final = 5004
MISSING_AVP: Final = 5005
NO_COMMON_APPLICATION: Final = 5010
UNSUPPORTED_VERSION: Final = 5011
UNABLE_TO_COMPLY: Final = 5012
INVALID_AVP_LENGTH: Final = 5014
INVALID_MESSAGE_LENGTH: Final = 5015
ERROR_EQUIPMENT_UNKNOWN: Final = 5422
