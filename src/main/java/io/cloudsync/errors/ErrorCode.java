package io.cloudsync.errors;

import java.util.Arrays;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The one error catalogue: a stable snake_case code for clients, the HTTP status it answers
 * with, and a stable number that travels as the event-bus failure code between verticles.
 */
public enum ErrorCode {
  BAD_REQUEST(1000, 400, "bad_request"),
  INVALID_JSON(1001, 400, "invalid_json"),
  VALIDATION_FAILED(1002, 400, "validation_failed"),
  WEAK_PASSWORD(1003, 400, "weak_password"),
  INVALID_NAME(1010, 400, "invalid_name"),
  /** A webhook URL that reaches an address the SSRF guard refuses (loopback, private, ...). */
  URL_NOT_ALLOWED(1020, 400, "url_not_allowed"),
  /** A document body (or the result of a patch) that is valid JSON but not a JSON object. */
  DOCUMENT_NOT_OBJECT(1030, 400, "document_not_object"),
  /** A merge patch that is not a JSON object, or a where clause that is not field=value. */
  INVALID_PATCH(1031, 400, "invalid_patch"),
  UNAUTHORIZED(1100, 401, "unauthorized"),
  INVALID_TOKEN(1101, 401, "invalid_token"),
  INVALID_CREDENTIALS(1102, 401, "invalid_credentials"),
  MFA_REQUIRED(1103, 401, "mfa_required"),
  INVALID_MFA_CODE(1104, 401, "invalid_mfa_code"),
  FORBIDDEN(1300, 403, "forbidden"),
  ACCOUNT_DISABLED(1301, 403, "account_disabled"),
  OAUTH_FAILED(1302, 403, "oauth_failed"),
  NOT_FOUND(1400, 404, "not_found"),
  METHOD_NOT_ALLOWED(1500, 405, "method_not_allowed"),
  NOT_ACCEPTABLE(1600, 406, "not_acceptable"),
  CONFLICT(1900, 409, "conflict"),
  EMAIL_TAKEN(1901, 409, "email_taken"),
  NAME_TAKEN(1910, 409, "name_taken"),
  VERSION_CONFLICT(1911, 409, "version_conflict"),
  /** The space has webhooks.max_endpoints endpoints already. */
  WEBHOOK_LIMIT_REACHED(1920, 409, "webhook_limit_reached"),
  PRECONDITION_FAILED(2200, 412, "precondition_failed"),
  PAYLOAD_TOO_LARGE(2300, 413, "payload_too_large"),
  /** A document, as stored, would be larger than docs.max_size. */
  DOCUMENT_TOO_LARGE(2310, 413, "document_too_large"),
  UNSUPPORTED_MEDIA_TYPE(2500, 415, "unsupported_media_type"),
  RANGE_NOT_SATISFIABLE(2600, 416, "range_not_satisfiable"),
  RATE_LIMITED(2900, 429, "rate_limited"),
  /** tus checksum extension: the PATCH body does not match Upload-Checksum. */
  CHECKSUM_MISMATCH(4600, 460, "checksum_mismatch"),
  HASH_MISMATCH(1004, 400, "hash_mismatch"),
  INTERNAL(5000, 500, "internal_error"),
  BAD_GATEWAY(5020, 502, "bad_gateway"),
  UNAVAILABLE(5030, 503, "service_unavailable"),
  TIMEOUT(5040, 504, "timeout"),
  QUOTA_EXCEEDED(5070, 507, "quota_exceeded"),
  FOLDER_FULL(5071, 507, "folder_full");

  private static final Map<Integer, ErrorCode> BY_NUMBER =
      Arrays.stream(values()).collect(Collectors.toMap(ErrorCode::number, Function.identity()));

  private final int number;
  private final int httpStatus;
  private final String code;

  ErrorCode(int number, int httpStatus, String code) {
    this.number = number;
    this.httpStatus = httpStatus;
    this.code = code;
  }

  public int number() {
    return number;
  }

  public int httpStatus() {
    return httpStatus;
  }

  public String code() {
    return code;
  }

  public static ErrorCode byNumber(int number) {
    return BY_NUMBER.getOrDefault(number, INTERNAL);
  }

  /** The catalogue entry for a bare HTTP status (from Vert.x Web's own failures such as 404/405/413). */
  public static ErrorCode forStatus(int status) {
    return switch (status) {
      case 400 -> BAD_REQUEST;
      case 401 -> UNAUTHORIZED;
      case 403 -> FORBIDDEN;
      case 404 -> NOT_FOUND;
      case 405 -> METHOD_NOT_ALLOWED;
      case 406 -> NOT_ACCEPTABLE;
      case 409 -> CONFLICT;
      case 412 -> PRECONDITION_FAILED;
      case 413 -> PAYLOAD_TOO_LARGE;
      case 415 -> UNSUPPORTED_MEDIA_TYPE;
      case 429 -> RATE_LIMITED;
      case 502 -> BAD_GATEWAY;
      case 503 -> UNAVAILABLE;
      case 504 -> TIMEOUT;
      default -> status >= 400 && status < 500 ? BAD_REQUEST : INTERNAL;
    };
  }
}
