"""newsflow's common code: event schemas, settings, Kafka, logging, metrics and database helpers.

Everything two services need lives here, once; services import it and never copy it.
"""
