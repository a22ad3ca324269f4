"""Twilio at the edge: signature checks, form -> Inbound, actions -> TwiML. Twilio's words live here."""
