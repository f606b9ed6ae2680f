"""Order models shared by the steps (imported relatively: ``from .models import Order``)."""

from pydantic import BaseModel, Field


class NewOrder(BaseModel):
    customer: str = Field(min_length=1)
    item: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    unit_price: float = Field(ge=0)
    #: Demo switch: the queue step fails the first attempt, the queue retries it.
    simulate_failure: bool = False


class Order(NewOrder):
    id: str
