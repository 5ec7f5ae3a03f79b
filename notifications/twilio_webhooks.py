"""POST /webhooks/twilio/inbound: texts people send us; the opt-out keywords change consent.

Matched as Twilio matches them: the whole body, trimmed, any case. STOP and its synonyms withdraw
every text to the number; START, UNSTOP and YES resume (offers only as notifications.consent says);
HELP and INFO answer with who we are, how to reach us and how often we text. Twilio itself confirms
STOP and START (and blocks a stopped number until START), so those get an empty reply. An advert's
keyword and the Y that confirms it are the keyword coupon's double opt-in (notifications.sms_keywords).
"""

from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from twilio.twiml.messaging_response import MessagingResponse

from notifications import consent, sms_keywords
from notifications.schemas_consent import InboundSmsSchema
from notifications.twilio_signature import twilio_signed
from shop.core.transactions import transactional

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})
RESERVED_WORDS = STOP_WORDS | START_WORDS | HELP_WORDS

blp = Blueprint("twilio_inbound", __name__, description="Texts sent to our number (Twilio)")


def help_text() -> str:
    config = current_app.config
    return (f"{config['BRAND_NAME']}: order updates and, if you asked, offers. {config['SMS_HELP_FREQUENCY']} "
            f"Msg & data rates may apply. Help: {config['BRAND_SUPPORT_EMAIL']}. Reply STOP to opt out.")


def _twiml(reply: str | None = None) -> Response:
    twiml = MessagingResponse()
    if reply:
        twiml.message(reply)
    return Response(str(twiml), mimetype="text/xml")


@blp.route("/webhooks/twilio/inbound")
class TwilioInbound(MethodView):
    @twilio_signed  # before the form is parsed: an unsigned request learns and changes nothing
    @blp.arguments(InboundSmsSchema(), location="form")
    @transactional
    @blp.response(200, description="TwiML: empty, or the HELP answer")
    @blp.doc(responses={200: {"content": {"text/xml": {"schema": {"type": "string"}}}}})
    def post(self, form):
        """A text to our number (signed with X-Twilio-Signature): STOP, START, HELP or anything else."""
        word = form["Body"].strip().upper()
        if word in HELP_WORDS:
            return _twiml(help_text())
        phone = consent.address_for("sms", form["From"])
        if phone is None:
            return _twiml()
        wording = f'Texted "{form["Body"].strip()[:100]}" to our number.'
        reference = f"twilio:{form['MessageSid']}" if form["MessageSid"] else ""
        if word in STOP_WORDS:
            consent.stop_texts(phone, wording, reference)
        elif word in START_WORDS:
            consent.resume_texts(phone, wording, reference)
        elif word in sms_keywords.CONFIRM_WORDS:
            return _twiml(sms_keywords.confirmed(phone, reference))
        elif (offer := sms_keywords.offers(current_app.config).get(word)) is not None:
            return _twiml(sms_keywords.keyword_texted(phone, offer))
        return _twiml()
