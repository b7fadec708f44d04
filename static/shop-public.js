// The public e-shop (index.html): the shop as any buyer sees it.
import { bootShop } from "./shop.js";

bootShop();
